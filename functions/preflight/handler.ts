import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { preflight } from './preflight.js';

const Input = z.discriminatedUnion('action', [z.object({ action: z.literal('check'), spec: specField })]);

/** Checks AMI (or a restore's images), instance type offerings, vCPU quota and the Capillaries release before anything is created. */
export const handler = lambdaHandler('preflight', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  return preflight(ctx, input.spec.capillariesReleaseUrl, input.spec.fromImages);
});
