import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { evaluateChecks } from './health-check.js';

const Input = z.object({
  action: z.literal('evaluate'),
  spec: specField,
  commands: z.array(z.object({ commandId: z.string(), check: z.string() }).passthrough()).min(1),
  /** The final health step fails when unhealthy; a readiness loop passes false and its attempt count instead. */
  failWhenUnhealthy: z.boolean().default(true),
  attempt: z.number().int().min(0).default(0),
  maxAttempts: z.number().int().min(1).optional(),
  /** A resize between two ring changes: every listed Cassandra node UN, whatever their count. */
  ringOnly: z.boolean().default(false),
});

/** Judges the cluster from the output of the capi-health-check commands. */
export const handler = lambdaHandler('health-check', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  const outOfAttempts = input.maxAttempts !== undefined && input.attempt + 1 >= input.maxAttempts;
  return evaluateChecks(ctx, input.commands, input.failWhenUnhealthy || outOfAttempts, input.ringOnly);
});
