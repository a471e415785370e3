import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { roundFields } from '../shared/rounds.js';
import { deleteNatGateways, ensureNatGateway, natGatewayStatus, natGatewaysGone } from './nat-gateway.js';

const Input = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('ensure'),
    spec: specField,
    publicSubnetId: z.string().startsWith('subnet-'),
    allocationId: z.string().startsWith('eipalloc-'),
  }),
  z.object({
    action: z.literal('status'),
    spec: specField,
    natGatewayId: z.string().startsWith('nat-'),
    ...roundFields,
  }),
  z.object({ action: z.literal('delete'), spec: specField }),
  z.object({ action: z.literal('gone'), spec: specField, ...roundFields }),
]);

/** The NAT gateway: ensure, poll until available, delete, poll until deleted. */
export const handler = lambdaHandler('nat-gateway', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  switch (input.action) {
    case 'ensure':
      return ensureNatGateway(ctx, input.publicSubnetId, input.allocationId);
    case 'status':
      return natGatewayStatus(ctx, input.natGatewayId, input);
    case 'delete':
      return deleteNatGateways(ctx);
    case 'gone':
      return natGatewaysGone(ctx, input);
  }
});
