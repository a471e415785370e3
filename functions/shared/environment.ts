import { z } from 'zod';

/**
 * The Lambda environment the CDK stack sets, read once at cold start by the handlers that need it (never by
 * logic). `COMMAND_OUTPUT_BUCKET`: where SSM writes full command output; unset in local mode. `AWS_REGION`: where the
 * customers registry is (functions/shared/customers.ts).
 */
export const lambdaEnvironment = z
  .object({
    COMMAND_OUTPUT_BUCKET: z.string().min(3).optional(),
    // The stack's KMS key for the clusters' log groups (infra); unset in local mode and in SaaS mode.
    LOGS_KMS_KEY_ARN: z.string().startsWith('arn:').optional(),
    // Set by Lambda itself: the function's (the stack's) region, where the customers registry is.
    AWS_REGION: z
      .string()
      .optional()
      .transform((region) => region || undefined),
  })
  .parse(process.env);

/**
 * Local mode only: the values the stack gives the functions (`COMMAND_OUTPUT_BUCKET`), so the simulated run sends
 * its commands as the deployed functions do. Handlers read `lambdaEnvironment` at each invocation.
 */
export function configureLambdaEnvironment(values: Partial<typeof lambdaEnvironment>): void {
  Object.assign(lambdaEnvironment, values);
}
