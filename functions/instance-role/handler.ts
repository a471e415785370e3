import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { deleteInstanceRole, ensureInstanceRole } from './instance-role.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ensure'), spec: specField }),
  z.object({ action: z.literal('delete'), spec: specField }),
]);

/** Set by the CDK stack: the bucket SSM writes full command output to (absent in local mode). */
const env = z.object({ COMMAND_OUTPUT_BUCKET: z.string().min(3).optional() }).parse(process.env);

/** The instances' IAM role and instance profile (SSM agent, S3 buckets, deployment secrets): ensure or delete. */
export const handler = lambdaHandler('instance-role', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  return input.action === 'ensure'
    ? ensureInstanceRole(ctx, input.spec.s3Buckets, env.COMMAND_OUTPUT_BUCKET)
    : deleteInstanceRole(ctx);
});
