import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { associateBastionAddress } from './bastion-address.js';

const Input = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('associate'),
    spec: specField,
    allocationId: z.string().startsWith('eipalloc-'),
  }),
]);

/** The bastion's public address: associate the bastion elastic IP with the bastion instance. */
export const handler = lambdaHandler('bastion-address', Input, async (input) =>
  associateBastionAddress(await deploymentContext(input.spec), input.allocationId),
);
