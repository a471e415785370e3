import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/instance-role/handler.js';
import {
  deleteInstanceRole,
  ensureInstanceRole,
  inlinePolicyName,
  instancePolicy,
} from '../../../functions/instance-role/instance-role.js';
import { awsError, expectNamedError, RAW_SPEC, sampleContext } from '../helpers.js';

const iamMock = mockClient(IAMClient);
const stsMock = mockClient(STSClient);

const ROLE = 'capideploy-sample-instance';
const ROLE_ARN = `arn:aws:iam::123456789012:role/capideploy/${ROLE}`;
const PROFILE_ARN = `arn:aws:iam::123456789012:instance-profile/capideploy/${ROLE}`;
const SSM_CORE = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore';
/** The boundary both stacks deploy, in the account of the role (written out, not derived by the code under test). */
const BOUNDARY = 'arn:aws:iam::123456789012:policy/capideploy/capideploy-instance-boundary';
const BOUNDED = { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: BOUNDARY } as const;
const TAGS = [
  { Key: 'Name', Value: ROLE },
  { Key: 'DeploymentName', Value: 'sample' },
  { Key: 'DeploymentOperator', Value: 'capideploy' },
];
const notFound = () => awsError('NoSuchEntityException', `The role with name ${ROLE} cannot be found.`);

const MUTATING = [
  CreateRoleCommand,
  CreateInstanceProfileCommand,
  PutRolePolicyCommand,
  AttachRolePolicyCommand,
  AddRoleToInstanceProfileCommand,
  DeleteRolePolicyCommand,
  PutRolePermissionsBoundaryCommand,
];

beforeEach(() => {
  iamMock.reset();
  stsMock.reset();
  // The Lambda's own identity (single-account mode): the account the role is created in.
  stsMock.on(GetCallerIdentityCommand).resolves({
    Account: '123456789012',
    Arn: 'arn:aws:sts::123456789012:assumed-role/CapiDeploy-InstanceRoleRole/CapiDeploy-InstanceRole',
  });
});

/** The policy document the role must carry for the sample, as the seed describes it. */
function expectedPolicy() {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ListDeploymentBuckets',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: ['arn:aws:s3:::capillaries-sample-data'],
      },
      {
        Sid: 'ReadWriteDeploymentObjects',
        Effect: 'Allow',
        Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: ['arn:aws:s3:::capillaries-sample-data/*'],
      },
      {
        Sid: 'WriteClusterLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        Resource: 'arn:aws:logs:us-east-1:123456789012:log-group:/capideploy/sample:*',
      },
      {
        Sid: 'ReadDeploymentSecrets',
        Effect: 'Allow',
        Action: ['ssm:GetParameter', 'ssm:GetParameters'],
        Resource: 'arn:aws:ssm:us-east-1:123456789012:parameter/capideploy/sample/*',
      },
      {
        Sid: 'DecryptDeploymentSecretsThroughSsm',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': 'ssm.us-east-1.amazonaws.com' } },
      },
    ],
  };
}

describe('instancePolicy', () => {
  it('grants the buckets as the seed policy, the deployment secrets only, and kms:Decrypt via SSM only', () => {
    const ctx = sampleContext();
    expect(JSON.parse(instancePolicy(ctx.plan, ['capillaries-sample-data'], 'aws', '123456789012'))).toEqual(
      expectedPolicy(),
    );
  });

  it('lets the instances write their command output under the deployment prefix of the output bucket only', () => {
    const ctx = sampleContext({ s3Buckets: [] });
    const document = JSON.parse(instancePolicy(ctx.plan, [], 'aws', '123456789012', 'capideploy-output'));
    expect(document.Statement.slice(0, 2)).toEqual([
      {
        Sid: 'WriteCommandOutput',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::capideploy-output/sample/*',
      },
      {
        Sid: 'ReadCommandOutputBucketEncryption',
        Effect: 'Allow',
        Action: 's3:GetEncryptionConfiguration',
        Resource: 'arn:aws:s3:::capideploy-output',
      },
    ]);
  });

  it('omits the S3 statements when the spec has no bucket', () => {
    const ctx = sampleContext({ s3Buckets: [] });
    const document = JSON.parse(instancePolicy(ctx.plan, [], 'aws', '123456789012'));
    expect(document.Statement.map((statement: { Sid: string }) => statement.Sid)).toEqual([
      'WriteClusterLogs',
      'ReadDeploymentSecrets',
      'DecryptDeploymentSecretsThroughSsm',
    ]);
    expect(JSON.stringify(document)).not.toContain('s3:');
  });
});

describe('ensureInstanceRole', () => {
  it('creates the role, its policies and the profile holding it when none exists', async () => {
    // Prepare
    iamMock.on(GetRoleCommand).rejects(notFound());
    iamMock.on(CreateRoleCommand).resolves({ Role: { RoleName: ROLE, Arn: ROLE_ARN } as never });
    iamMock.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    iamMock.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    iamMock.on(GetInstanceProfileCommand).rejects(notFound());
    iamMock
      .on(CreateInstanceProfileCommand)
      .resolves({ InstanceProfile: { InstanceProfileName: ROLE, Arn: PROFILE_ARN, Roles: [] } as never });
    // Act
    const result = await ensureInstanceRole(sampleContext(), ['capillaries-sample-data']);
    // Assess
    expect(result).toEqual({ roleName: ROLE, instanceProfileName: ROLE, instanceProfileArn: PROFILE_ARN });
    const createRole = iamMock.commandCalls(CreateRoleCommand)[0].args[0].input;
    expect(createRole).toMatchObject({
      RoleName: ROLE,
      Path: '/capideploy/',
      PermissionsBoundary: BOUNDARY,
      Tags: TAGS,
    });
    // Created with the boundary: nothing to put afterwards.
    expect(iamMock).not.toHaveReceivedCommand(PutRolePermissionsBoundaryCommand);
    expect(JSON.parse(createRole.AssumeRolePolicyDocument!)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    const put = iamMock.commandCalls(PutRolePolicyCommand)[0].args[0].input;
    expect(put.RoleName).toBe(ROLE);
    expect(JSON.parse(put.PolicyDocument!)).toEqual(expectedPolicy());
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(AttachRolePolicyCommand, {
      RoleName: ROLE,
      PolicyArn: SSM_CORE,
    });
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(CreateInstanceProfileCommand, {
      InstanceProfileName: ROLE,
      Path: '/capideploy/',
      Tags: TAGS,
    });
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(AddRoleToInstanceProfileCommand, {
      InstanceProfileName: ROLE,
      RoleName: ROLE,
    });
  });

  it('makes no mutating call when the role, its policies and the profile are in place', async () => {
    // Prepare
    const current = inlinePolicyName(
      instancePolicy(sampleContext().plan, ['capillaries-sample-data'], 'aws', '123456789012'),
    );
    iamMock.on(GetRoleCommand).resolves({
      Role: { RoleName: ROLE, Arn: ROLE_ARN, PermissionsBoundary: BOUNDED } as never,
    });
    iamMock.on(ListRolePoliciesCommand).resolves({ PolicyNames: [current] });
    iamMock
      .on(ListAttachedRolePoliciesCommand)
      .resolves({ AttachedPolicies: [{ PolicyName: 'AmazonSSMManagedInstanceCore', PolicyArn: SSM_CORE }] });
    iamMock.on(GetInstanceProfileCommand).resolves({
      InstanceProfile: { InstanceProfileName: ROLE, Arn: PROFILE_ARN, Roles: [{ RoleName: ROLE }] } as never,
    });
    // Act
    const result = await ensureInstanceRole(sampleContext(), ['capillaries-sample-data']);
    // Assess
    expect(result.instanceProfileArn).toBe(PROFILE_ARN);
    const received = iamMock.calls().map((call) => (call.args[0] as object).constructor.name);
    for (const command of MUTATING) expect(received).not.toContain(command.name);
    expect(received.every((name) => /^(Get|List)/.test(name))).toBe(true);
    expect(stsMock.calls()).toHaveLength(0);
  });

  it('puts the boundary on an existing role without one, before touching its policies', async () => {
    // Prepare: a role created before the boundary existed
    iamMock.on(GetRoleCommand).resolves({ Role: { RoleName: ROLE, Arn: ROLE_ARN } as never });
    iamMock.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    iamMock.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    iamMock.on(GetInstanceProfileCommand).resolves({
      InstanceProfile: { Arn: PROFILE_ARN, Roles: [{ RoleName: ROLE }] } as never,
    });
    // Act
    await ensureInstanceRole(sampleContext(), ['capillaries-sample-data']);
    // Assess: the grants allow PutRolePolicy and AttachRolePolicy only on a role that has the boundary
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(PutRolePermissionsBoundaryCommand, {
      RoleName: ROLE,
      PermissionsBoundary: BOUNDARY,
    });
    const order = iamMock.calls().map((call) => (call.args[0] as object).constructor.name);
    expect(order.indexOf('PutRolePermissionsBoundaryCommand')).toBeLessThan(
      order.indexOf('PutRolePolicyCommand'),
    );
    expect(order.indexOf('PutRolePermissionsBoundaryCommand')).toBeLessThan(
      order.indexOf('AttachRolePolicyCommand'),
    );
    expect(iamMock).not.toHaveReceivedCommand(CreateRoleCommand);
  });

  it('replaces another boundary with the instance boundary', async () => {
    iamMock.on(GetRoleCommand).resolves({
      Role: {
        RoleName: ROLE,
        Arn: ROLE_ARN,
        PermissionsBoundary: { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: SSM_CORE },
      } as never,
    });
    iamMock.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    iamMock.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: SSM_CORE }] });
    iamMock.on(GetInstanceProfileCommand).resolves({
      InstanceProfile: { Arn: PROFILE_ARN, Roles: [{ RoleName: ROLE }] } as never,
    });
    await ensureInstanceRole(sampleContext(), []);
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(PutRolePermissionsBoundaryCommand, {
      RoleName: ROLE,
      PermissionsBoundary: BOUNDARY,
    });
  });

  it("creates the role in SaaS mode with the customer account's boundary", async () => {
    // Prepare: the clients act as the customer role
    stsMock.on(GetCallerIdentityCommand).resolves({
      Account: '444455556666',
      Arn: 'arn:aws:sts::444455556666:assumed-role/capideploy-operator/capideploy',
    });
    iamMock.on(GetRoleCommand).rejects(notFound());
    iamMock.on(CreateRoleCommand).resolves({
      Role: { RoleName: ROLE, Arn: `arn:aws:iam::444455556666:role/capideploy/${ROLE}` } as never,
    });
    iamMock.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    iamMock.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    iamMock.on(GetInstanceProfileCommand).resolves({
      InstanceProfile: { Arn: PROFILE_ARN, Roles: [{ RoleName: ROLE }] } as never,
    });
    // Act
    await ensureInstanceRole(sampleContext(), []);
    // Assess
    expect(iamMock.commandCalls(CreateRoleCommand)[0].args[0].input.PermissionsBoundary).toBe(
      'arn:aws:iam::444455556666:policy/capideploy/capideploy-instance-boundary',
    );
  });

  it('replaces an outdated inline policy when the buckets changed', async () => {
    // Prepare
    iamMock.on(GetRoleCommand).resolves({
      Role: { RoleName: ROLE, Arn: ROLE_ARN, PermissionsBoundary: BOUNDED } as never,
    });
    iamMock
      .on(ListRolePoliciesCommand)
      .resolves({ PolicyNames: ['capideploy-instance-access-0123456789abcdef'] });
    iamMock.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: SSM_CORE }] });
    iamMock.on(GetInstanceProfileCommand).resolves({
      InstanceProfile: { Arn: PROFILE_ARN, Roles: [{ RoleName: ROLE }] } as never,
    });
    // Act
    await ensureInstanceRole(sampleContext({ s3Buckets: ['other-bucket'] }), ['other-bucket']);
    // Assess
    const put = iamMock.commandCalls(PutRolePolicyCommand)[0].args[0].input;
    expect(put.PolicyDocument).toContain('arn:aws:s3:::other-bucket/*');
    expect(iamMock).toHaveReceivedCommandExactlyOnceWith(DeleteRolePolicyCommand, {
      RoleName: ROLE,
      PolicyName: 'capideploy-instance-access-0123456789abcdef',
    });
  });

  it('names the role, the AWS error and a hint when CreateRole is refused', async () => {
    // Prepare
    iamMock.on(GetRoleCommand).rejects(notFound());
    iamMock
      .on(CreateRoleCommand)
      .rejects(awsError('AccessDenied', 'not authorized to perform iam:CreateRole'));
    // Act
    await expectNamedError(ensureInstanceRole(sampleContext(), []), 'AccessDenied', {
      resource: `instance role ${ROLE}`,
      id: ROLE,
      awsError: 'AccessDenied',
      message: 'not authorized to perform iam:CreateRole',
    });
    // Assess
    expect(iamMock).not.toHaveReceivedCommand(CreateInstanceProfileCommand);
  });

  it('refuses a profile that holds another role as a ResourceConflict', async () => {
    iamMock.on(GetRoleCommand).resolves({ Role: { RoleName: ROLE, Arn: ROLE_ARN } as never });
    iamMock.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    iamMock.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: SSM_CORE }] });
    iamMock.on(GetInstanceProfileCommand).resolves({
      InstanceProfile: { Arn: PROFILE_ARN, Roles: [{ RoleName: 'SomeoneElse' }] } as never,
    });
    const cause = await expectNamedError(ensureInstanceRole(sampleContext(), []), 'ResourceConflict', {
      resource: `instance profile ${ROLE}`,
      id: PROFILE_ARN,
    });
    expect(cause.hint).toContain(
      '`aws iam remove-role-from-instance-profile --instance-profile-name capideploy-sample-instance --role-name SomeoneElse`',
    );
    expect(iamMock).not.toHaveReceivedCommand(AddRoleToInstanceProfileCommand);
  });
});

describe('deleteInstanceRole', () => {
  it('removes the role from the profile, deletes the profile, detaches, deletes policies, then the role', async () => {
    // Prepare
    iamMock.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: SSM_CORE }] });
    iamMock.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['capideploy-instance-access-abc'] });
    // Act
    const result = await deleteInstanceRole(sampleContext());
    // Assess
    expect(result.deleted).toEqual([`instance-profile/${ROLE}`, `role/${ROLE}`]);
    const order = iamMock.calls().map((call) => (call.args[0] as object).constructor.name);
    expect(order).toEqual([
      'GetInstanceProfileCommand',
      'RemoveRoleFromInstanceProfileCommand',
      'DeleteInstanceProfileCommand',
      'GetRoleCommand',
      'ListAttachedRolePoliciesCommand',
      'DetachRolePolicyCommand',
      'ListRolePoliciesCommand',
      'DeleteRolePolicyCommand',
      'DeleteRoleCommand',
    ]);
    expect(iamMock).toHaveReceivedCommandWith(DetachRolePolicyCommand, {
      RoleName: ROLE,
      PolicyArn: SSM_CORE,
    });
  });

  it('converges when everything is already gone, changing nothing that does not exist', async () => {
    // A change to an entity that is gone is authorized without its path and refused: only reads find it gone.
    iamMock.on(GetInstanceProfileCommand).rejects(notFound());
    iamMock.on(GetRoleCommand).rejects(notFound());
    const result = await deleteInstanceRole(sampleContext());
    expect(result).toEqual({ deleted: [] });
    const calls = iamMock.calls().map((call) => (call.args[0] as object).constructor.name);
    expect(calls).toEqual(['GetInstanceProfileCommand', 'GetRoleCommand']);
  });

  it('converges when the profile went between the read and the change', async () => {
    iamMock.on(RemoveRoleFromInstanceProfileCommand).rejects(notFound());
    iamMock.on(DeleteInstanceProfileCommand).rejects(notFound());
    iamMock.on(GetRoleCommand).rejects(notFound());
    expect(await deleteInstanceRole(sampleContext())).toEqual({ deleted: [] });
    expect(iamMock).not.toHaveReceivedCommand(DeleteRoleCommand);
  });

  it('names the role when DeleteRole hits a DeleteConflict', async () => {
    iamMock.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    iamMock.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    iamMock
      .on(DeleteRoleCommand)
      .rejects(
        awsError(
          'DeleteConflictException',
          'Cannot delete entity, must remove roles from instance profile first.',
        ),
      );
    await expectNamedError(deleteInstanceRole(sampleContext()), 'ProvisioningFailed', {
      resource: `instance role ${ROLE}`,
      id: ROLE,
      awsError: 'DeleteConflictException',
    });
  });
});

describe('handler', () => {
  it('rejects an unknown action as InvalidSpec before any AWS call', async () => {
    await expectNamedError(handler({ action: 'rotate', spec: RAW_SPEC }), 'InvalidSpec', {
      resource: 'input of instance-role',
    });
    expect(iamMock.calls()).toHaveLength(0);
  });
});
