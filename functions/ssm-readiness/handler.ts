import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { ssmReadiness } from './ssm-readiness.js';

const Input = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('status'),
    spec: specField,
    attempt: z.number().int().min(0).optional(),
    maxAttempts: z.number().int().min(1).optional(),
  }),
]);

/** Whether every node's SSM agent is online, for the wait loop before provisioning. */
export const handler = lambdaHandler('ssm-readiness', Input, async (input) =>
  ssmReadiness(await deploymentContext(input.spec), {
    attempt: input.attempt,
    maxAttempts: input.maxAttempts,
  }),
);
