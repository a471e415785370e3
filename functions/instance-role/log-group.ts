import {
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { logGroupName } from '../../src/core/cluster-logs.js';
import { asDeploymentError, awsCall } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { logger } from '../shared/observability.js';

/**
 * The cluster's log group, `/capideploy/<deployment>` (src/core/cluster-logs.ts): the CloudWatch agent of every node
 * writes its streams there with the instance role, which may not create it. Created here, tagged like every
 * deployment resource, with the spec's retention and (on AWS) the stack's KMS key; deleted with the instance role
 * unless the spec says `keepLogs`.
 */

export interface LogGroupResult {
  logGroupName: string;
  retentionInDays: number;
}

const isCode = (error: unknown, code: string) => (error as { name?: string })?.name === code;

async function existingGroup({ clients }: DeploymentContext, name: string) {
  const found = await awsCall({ resource: `log group ${name}`, id: name }, () =>
    clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name })),
  );
  return (found.logGroups ?? []).find((group) => group.logGroupName === name);
}

/** Creates the group when missing, and sets its retention when it differs from the spec's. */
export async function ensureLogGroup(
  ctx: DeploymentContext,
  retentionInDays: number,
  kmsKeyArn?: string,
): Promise<LogGroupResult> {
  const { plan, clients } = ctx;
  const name = logGroupName(plan.deployment);
  const site = { resource: `log group ${name}`, id: name };
  let group = await existingGroup(ctx, name);
  if (!group) {
    try {
      await clients.logs.send(
        new CreateLogGroupCommand({
          logGroupName: name,
          ...(kmsKeyArn ? { kmsKeyId: kmsKeyArn } : {}),
          tags: {
            Name: name,
            DeploymentName: plan.tagsBase.DeploymentName,
            DeploymentOperator: plan.tagsBase.DeploymentOperator,
          },
        }),
      );
      logger.info('log group created', { logGroup: name, encrypted: Boolean(kmsKeyArn) });
    } catch (error) {
      // Created meanwhile by an earlier attempt of this step: fine, its retention is checked below.
      if (!isCode(error, 'ResourceAlreadyExistsException')) throw asDeploymentError(error, site);
    }
    group = { logGroupName: name };
  }
  if (group.retentionInDays !== retentionInDays) {
    await awsCall(site, () =>
      clients.logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays })),
    );
  }
  return { logGroupName: name, retentionInDays };
}

/** Deletes the group (already gone is fine), or leaves it when the spec keeps the logs. */
export async function deleteLogGroup(ctx: DeploymentContext, keep: boolean): Promise<{ deleted: string[] }> {
  const name = logGroupName(ctx.plan.deployment);
  if (keep) {
    logger.info('log group kept (keepLogs)', { logGroup: name });
    return { deleted: [] };
  }
  try {
    await ctx.clients.logs.send(new DeleteLogGroupCommand({ logGroupName: name }));
    return { deleted: [`log-group/${name}`] };
  } catch (error) {
    if (isCode(error, 'ResourceNotFoundException')) return { deleted: [] };
    throw asDeploymentError(error, { resource: `log group ${name}`, id: name });
  }
}
