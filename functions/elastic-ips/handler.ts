import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { ensureElasticIps, releaseElasticIps } from './elastic-ips.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ensure'), spec: specField }),
  z.object({ action: z.literal('delete'), spec: specField }),
]);

/** Elastic IPs of the NAT gateway and the bastion: ensure or release. */
export const handler = lambdaHandler('elastic-ips', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  return input.action === 'ensure' ? ensureElasticIps(ctx) : releaseElasticIps(ctx);
});
