import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaEnvironment } from '../shared/environment.js';
import { lambdaHandler } from '../shared/handler.js';
import { deleteInstanceRole, ensureInstanceRole } from './instance-role.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ensure'), spec: specField }),
  z.object({ action: z.literal('delete'), spec: specField }),
]);

/**
 * The instances' IAM role and instance profile (SSM agent, S3 buckets, deployment secrets): ensure or delete. The
 * role's permissions boundary needs no environment variable: its name is fixed, its account is the role's.
 */
export const handler = lambdaHandler('instance-role', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  return input.action === 'ensure'
    ? ensureInstanceRole(ctx, input.spec.s3Buckets, lambdaEnvironment.COMMAND_OUTPUT_BUCKET)
    : deleteInstanceRole(ctx);
});
