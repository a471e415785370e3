import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { deleteSubnets, ensureSubnets } from './subnets.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ensure'), spec: specField, vpcId: z.string().startsWith('vpc-') }),
  z.object({ action: z.literal('delete'), spec: specField }),
]);

/** The private and public subnets: ensure or delete. */
export const handler = lambdaHandler('subnets', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  return input.action === 'ensure' ? ensureSubnets(ctx, input.vpcId) : deleteSubnets(ctx);
});
