import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { deleteSecrets, ensureSecrets } from './secrets.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ensure'), spec: specField }),
  z.object({ action: z.literal('delete'), spec: specField }),
]);

/** The deployment's generated secrets in SSM Parameter Store: ensure or delete. */
export const handler = lambdaHandler('secrets', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  return input.action === 'ensure' ? ensureSecrets(ctx) : deleteSecrets(ctx);
});
