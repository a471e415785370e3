import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { roundFields } from '../shared/rounds.js';
import { deleteVpcs, ensureVpc, vpcStatus } from './vpc.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ensure'), spec: specField }),
  z.object({
    action: z.literal('status'),
    spec: specField,
    vpcId: z.string().startsWith('vpc-'),
    ...roundFields,
  }),
  z.object({ action: z.literal('delete'), spec: specField }),
]);

/** The deployment's VPC: ensure, poll its state, or delete. */
export const handler = lambdaHandler('vpc', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  if (input.action === 'ensure') return ensureVpc(ctx);
  if (input.action === 'status') return vpcStatus(ctx, input.vpcId, input);
  return deleteVpcs(ctx);
});
