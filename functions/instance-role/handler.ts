import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaEnvironment } from '../shared/environment.js';
import { lambdaHandler } from '../shared/handler.js';
import { deleteInstanceRole, ensureInstanceRole } from './instance-role.js';
import { deleteLogGroup, ensureLogGroup } from './log-group.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ensure'), spec: specField }),
  z.object({ action: z.literal('delete'), spec: specField }),
]);

/**
 * The instances' IAM role and instance profile (SSM agent, S3 buckets, deployment secrets, the cluster's log group),
 * and that log group: ensure or delete (the group stays when the spec says `keepLogs`). The
 * role's permissions boundary needs no environment variable: its name is fixed, its account is the role's.
 */
export const handler = lambdaHandler('instance-role', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  if (input.action === 'ensure') {
    const role = await ensureInstanceRole(ctx, input.spec.s3Buckets, lambdaEnvironment.COMMAND_OUTPUT_BUCKET);
    // The cluster's log group, which the role may write to: with the spec's retention and the stack's KMS key.
    const group = await ensureLogGroup(ctx, input.spec.logRetentionDays, lambdaEnvironment.LOGS_KMS_KEY_ARN);
    return { ...role, logGroupName: group.logGroupName };
  }
  const role = await deleteInstanceRole(ctx);
  const group = await deleteLogGroup(ctx, input.spec.keepLogs);
  return { deleted: [...role.deleted, ...group.deleted] };
});
