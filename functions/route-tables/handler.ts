import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { deleteRouteTables, ensureRouteTable } from './route-tables.js';

const Input = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('ensure'),
    spec: specField,
    kind: z.enum(['public', 'private']),
    vpcId: z.string().startsWith('vpc-'),
    subnetId: z.string().startsWith('subnet-'),
    targetId: z.string().regex(/^(igw|nat)-/),
  }),
  z.object({ action: z.literal('delete'), spec: specField }),
]);

/** Route tables of the public and private subnets: ensure (table, default route, association) or delete. */
export const handler = lambdaHandler('route-tables', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  return input.action === 'ensure' ? ensureRouteTable(ctx, input) : deleteRouteTables(ctx);
});
