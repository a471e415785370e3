import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { deleteSecurityGroups, ensureSecurityGroups } from './security-groups.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ensure'), spec: specField, vpcId: z.string().startsWith('vpc-') }),
  z.object({ action: z.literal('delete'), spec: specField }),
]);

/** The bastion and internal security groups: ensure with rules reconciled, or delete. */
export const handler = lambdaHandler('security-groups', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  return input.action === 'ensure' ? ensureSecurityGroups(ctx, input.vpcId) : deleteSecurityGroups(ctx);
});
