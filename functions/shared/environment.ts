import { z } from 'zod';

/**
 * The Lambda environment the CDK stack sets, read once at cold start by the handlers that need it (never by
 * logic). `COMMAND_OUTPUT_BUCKET`: where SSM writes full command output; unset in local mode.
 */
export const lambdaEnvironment = z
  .object({ COMMAND_OUTPUT_BUCKET: z.string().min(3).optional() })
  .parse(process.env);
