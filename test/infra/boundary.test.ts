import { describe, expect, it } from 'vitest';
import {
  INSTANCE_BOUNDARY_NAME as HANDLER_BOUNDARY_NAME,
  instanceBoundaryArn,
  instancePolicy,
} from '../../functions/instance-role/instance-role.js';
import {
  INSTANCE_BOUNDARY_NAME,
  INSTANCE_ROLE_PATH,
  type RenderContext,
  renderCustomerGrants,
  renderGrants,
  renderInstanceBoundary,
} from '../../src/core/permissions.js';
import { INSTANCE_BOUNDARY } from '../../src/sim/services/iam.js';
import { sampleContext } from '../unit/helpers.js';

const ACCOUNT = '111122223333';
const context: RenderContext = {
  partition: 'aws',
  account: ACCOUNT,
  commandOutputBucketArn: 'arn:aws:s3:::capideploy-command-output',
};
const BOUNDARY_ARN = 'arn:aws:iam::111122223333:policy/capideploy/capideploy-instance-boundary';
const INSTANCE_ROLES = 'arn:aws:iam::111122223333:role/capideploy/*';

describe('the instance boundary', () => {
  it('has one name and path for the stacks, the handler and the simulator', () => {
    expect(INSTANCE_BOUNDARY_NAME).toBe('capideploy-instance-boundary');
    expect(HANDLER_BOUNDARY_NAME).toBe(INSTANCE_BOUNDARY_NAME);
    expect(INSTANCE_BOUNDARY).toEqual({ name: INSTANCE_BOUNDARY_NAME, path: INSTANCE_ROLE_PATH });
    expect(instanceBoundaryArn({ partition: 'aws', account: ACCOUNT })).toBe(BOUNDARY_ARN);
  });

  it.each([
    ['InstanceRole Lambda', renderGrants('InstanceRole', context)],
    ['customer role', renderCustomerGrants(context)],
  ])('is the only way the %s may create a role or give it permissions', (_, grants) => {
    // Each statement that allows CreateRole carries the condition, so a CreateRole without the boundary (or with
    // another one) matches no Allow and is refused.
    const creating = grants.filter(
      (grant) =>
        grant.effect !== 'Deny' && grant.actions.some((action) => /^iam:(Create|Put)Role/.test(action)),
    );
    expect(creating).toEqual([
      {
        actions: ['iam:CreateRole', 'iam:PutRolePermissionsBoundary', 'iam:PutRolePolicy'],
        resources: [INSTANCE_ROLES],
        conditions: { StringEquals: { 'iam:PermissionsBoundary': BOUNDARY_ARN } },
        why: expect.stringContaining('capideploy-instance-boundary'),
      },
    ]);
    expect(grants.filter((grant) => grant.actions.includes('iam:AttachRolePolicy'))).toEqual([
      {
        actions: ['iam:AttachRolePolicy'],
        resources: [INSTANCE_ROLES],
        conditions: {
          ArnEquals: { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore' },
          StringEquals: { 'iam:PermissionsBoundary': BOUNDARY_ARN },
        },
        why: expect.any(String),
      },
    ]);
    expect(grants.filter((grant) => grant.effect === 'Deny')).toEqual([
      {
        effect: 'Deny',
        actions: ['iam:DeleteRolePermissionsBoundary'],
        resources: ['*'],
        why: expect.any(String),
      },
    ]);
    expect(grants.filter((grant) => grant.actions.includes('iam:PassRole'))).toEqual([
      {
        actions: ['iam:PassRole'],
        resources: [INSTANCE_ROLES],
        conditions: { StringEqualsIfExists: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
        why: expect.any(String),
      },
    ]);
  });

  it('gives no other function IAM write access', () => {
    const others = (['Instances', 'Inventory', 'Secrets', 'Provisioning'] as const).flatMap((fn) =>
      renderGrants(fn, context).flatMap((grant) => grant.actions),
    );
    expect(others.filter((action) => /^iam:(Create|Put|Attach|Delete)/.test(action))).toEqual([]);
  });

  describe('allows everything the instance role is granted (effective permissions are the intersection)', () => {
    const boundary = renderInstanceBoundary(context);
    const glob = (pattern: string) =>
      new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    const allowedBy = (action: string, resource: string) =>
      boundary.some(
        (statement) =>
          statement.actions.includes(action) &&
          statement.resources.some((pattern) => glob(pattern).test(resource)),
      );

    it('the inline policy of a deployment with buckets and command output', () => {
      const { plan } = sampleContext();
      const document = JSON.parse(
        instancePolicy(plan, ['capillaries-sample-data'], 'aws', ACCOUNT, 'capideploy-output'),
      ) as { Statement: { Action: string | string[]; Resource: string | string[] }[] };
      const pairs = document.Statement.flatMap((statement) =>
        [statement.Action]
          .flat()
          .flatMap((action) => [statement.Resource].flat().map((resource) => [action, resource])),
      );
      expect(pairs.length).toBeGreaterThan(8);
      expect(pairs.filter(([action, resource]) => !allowedBy(action, resource))).toEqual([]);
      // The boundary's condition on kms:Decrypt admits the inline policy's: Parameter Store of the deployment's region.
      expect(boundary.find((statement) => statement.actions.includes('kms:Decrypt'))?.conditions).toEqual({
        StringLike: { 'kms:ViaService': 'ssm.*.amazonaws.com' },
      });
    });

    it('what the SSM agent uses of AmazonSSMManagedInstanceCore, but not its parameters on "*"', () => {
      const agent = [
        'ssm:UpdateInstanceInformation',
        'ssm:ListInstanceAssociations',
        'ssm:GetDocument',
        'ssmmessages:CreateControlChannel',
        'ssmmessages:OpenDataChannel',
        'ec2messages:GetMessages',
        'ec2messages:SendReply',
      ];
      expect(agent.filter((action) => !allowedBy(action, '*'))).toEqual([]);
      expect(
        allowedBy('ssm:GetParameter', 'arn:aws:ssm:us-east-1:111122223333:parameter/capideploy/sample/x'),
      ).toBe(true);
      expect(allowedBy('ssm:GetParameter', 'arn:aws:ssm:us-east-1:111122223333:parameter/other/x')).toBe(
        false,
      );
    });

    it('and nothing of IAM, EC2 or STS', () => {
      const services = new Set(
        boundary.flatMap((statement) => statement.actions.map((action) => action.split(':')[0])),
      );
      expect([...services].sort()).toEqual(['ec2messages', 'kms', 'logs', 's3', 'ssm', 'ssmmessages']);
    });
  });
});
