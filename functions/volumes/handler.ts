import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { roundFields } from '../shared/rounds.js';
import { deleteLogVolumes, ensureLogVolume } from './volumes.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ensure'), spec: specField, ...roundFields }),
  z.object({ action: z.literal('delete'), spec: specField, ...roundFields }),
]);

/** The bastion log volume: ensure it exists and is attached (the ASL loops on `attached`), or delete it. */
export const handler = lambdaHandler('volumes', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  return input.action === 'ensure' ? ensureLogVolume(ctx, input) : deleteLogVolumes(ctx, input);
});
