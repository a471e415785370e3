import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { deleteInternetGateways, ensureInternetGateway } from './internet-gateway.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ensure'), spec: specField, vpcId: z.string().startsWith('vpc-') }),
  z.object({ action: z.literal('delete'), spec: specField }),
]);

/** The internet gateway: ensure (create and attach) or delete (detach and delete). */
export const handler = lambdaHandler('internet-gateway', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  return input.action === 'ensure' ? ensureInternetGateway(ctx, input.vpcId) : deleteInternetGateways(ctx);
});
