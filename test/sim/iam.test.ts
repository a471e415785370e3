import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  GetPolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListInstanceProfilesForRoleCommand,
  NoSuchEntityException,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  TagRoleCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { OPERATOR_ACCESS_KEY, SimulatedAccount } from '../../src/sim/account.js';
import { runInVirtualTime } from '../../src/sim/clock.js';
import { LATENCY_SECONDS } from '../../src/sim/latency.js';
import { attachSimulator } from '../../src/sim/middleware.js';
import {
  ensureInstanceBoundary,
  type IamState,
  iamSimulator,
  SSM_MANAGED_INSTANCE_CORE,
} from '../../src/sim/services/iam.js';

const START = Date.parse('2026-01-05T10:00:00Z');
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'ssm:GetParameter', Resource: '*' }],
});

function setup() {
  const account = new SimulatedAccount([iamSimulator], { callLatency: false });
  const iam = new IAMClient({
    region: 'us-east-1',
    credentials: { accessKeyId: OPERATOR_ACCESS_KEY, secretAccessKey: 'simulated' },
    maxAttempts: 1,
  });
  attachSimulator(iam, account);
  return { account, iam };
}

const wait = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** The error `work` rejects with; fails the test when it resolves. */
async function rejection(work: () => Promise<unknown>): Promise<any> {
  return work().then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

describe('IAM roles', () => {
  it('creates a role once, returns its dates as Date and its trust policy URL-encoded', async () => {
    const { iam } = setup();
    await runInVirtualTime(START, async () => {
      const created = await iam.send(
        new CreateRoleCommand({
          RoleName: 'capideploy-demo-instance',
          AssumeRolePolicyDocument: TRUST,
          Tags: [{ Key: 'DeploymentName', Value: 'demo' }],
        }),
      );
      expect(created.Role?.Arn).toBe('arn:aws:iam::123456789012:role/capideploy-demo-instance');
      expect(created.Role?.RoleId).toMatch(/^AROA[0-9A-F]{17}$/);
      expect(created.Role?.CreateDate).toEqual(new Date(START));

      const got = await iam.send(new GetRoleCommand({ RoleName: 'capideploy-demo-instance' }));
      expect(decodeURIComponent(got.Role!.AssumeRolePolicyDocument!)).toBe(TRUST);
      expect(got.Role?.AssumeRolePolicyDocument).not.toBe(TRUST);
      expect(got.Role?.Tags).toEqual([{ Key: 'DeploymentName', Value: 'demo' }]);

      for (const name of ['capideploy-demo-instance', 'CAPIDEPLOY-demo-instance']) {
        const error = await rejection(() =>
          iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST })),
        );
        expect(error.name).toBe('EntityAlreadyExistsException');
        expect(error.Code).toBe('EntityAlreadyExists');
        expect(error.message).toBe(`Role with name ${name} already exists.`);
        expect(error.$metadata.httpStatusCode).toBe(409);
      }
    });
  });

  it('says NoSuchEntity for a missing role, as the SDK class', async () => {
    const { iam } = setup();
    await runInVirtualTime(START, async () => {
      const error = await rejection(() => iam.send(new GetRoleCommand({ RoleName: 'nope' })));
      expect(error).toBeInstanceOf(NoSuchEntityException);
      expect(error.name).toBe('NoSuchEntityException');
      expect(error.message).toBe('The role with name nope cannot be found.');
      expect(error.$metadata.httpStatusCode).toBe(404);
    });
  });

  it('rejects a malformed trust policy and a bad role name', async () => {
    const { iam } = setup();
    await runInVirtualTime(START, async () => {
      const malformed = await rejection(() =>
        iam.send(new CreateRoleCommand({ RoleName: 'r', AssumeRolePolicyDocument: '{nope' })),
      );
      expect(malformed.name).toBe('MalformedPolicyDocumentException');
      const badName = await rejection(() =>
        iam.send(new CreateRoleCommand({ RoleName: 'has space', AssumeRolePolicyDocument: TRUST })),
      );
      expect(badName.name).toBe('ValidationError');
      expect(badName.message).toContain("Value 'has space' at 'roleName' failed to satisfy constraint");
    });
  });

  it('refuses to delete a role until policies and profiles are gone', async () => {
    const { iam } = setup();
    await runInVirtualTime(START, async () => {
      const RoleName = 'r1';
      const InstanceProfileName = 'p1';
      await iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: TRUST }));
      await iam.send(new AttachRolePolicyCommand({ RoleName, PolicyArn: SSM_MANAGED_INSTANCE_CORE }));
      await iam.send(new PutRolePolicyCommand({ RoleName, PolicyName: 'secrets', PolicyDocument: POLICY }));
      await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName }));
      await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName, RoleName }));

      const deleteRole = () => rejection(() => iam.send(new DeleteRoleCommand({ RoleName })));
      const conflict = async (message: string) => {
        const error = await deleteRole();
        expect(error.name).toBe('DeleteConflictException');
        expect(error.message).toBe(message);
        expect(error.$metadata.httpStatusCode).toBe(409);
      };
      await conflict('Cannot delete entity, must detach all policies first.');
      const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName }));
      expect(attached.AttachedPolicies).toEqual([
        { PolicyName: 'AmazonSSMManagedInstanceCore', PolicyArn: SSM_MANAGED_INSTANCE_CORE },
      ]);
      await iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn: SSM_MANAGED_INSTANCE_CORE }));
      await conflict('Cannot delete entity, must delete policies first.');
      const inline = await iam.send(new GetRolePolicyCommand({ RoleName, PolicyName: 'secrets' }));
      expect(decodeURIComponent(inline.PolicyDocument!)).toBe(POLICY);
      await iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName: 'secrets' }));
      await conflict('Cannot delete entity, must remove roles from instance profile first.');

      const profileConflict = await rejection(() =>
        iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName })),
      );
      expect(profileConflict.name).toBe('DeleteConflictException');
      const forRole = await iam.send(new ListInstanceProfilesForRoleCommand({ RoleName }));
      expect(forRole.InstanceProfiles?.map((profile) => profile.InstanceProfileName)).toEqual(['p1']);

      await iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName, RoleName }));
      await iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName }));
      await iam.send(new DeleteRoleCommand({ RoleName }));
      const gone = await rejection(() => iam.send(new GetInstanceProfileCommand({ InstanceProfileName })));
      expect(gone.message).toBe('Instance Profile p1 cannot be found.');
    });
  });

  it('merges tags by key', async () => {
    const { iam } = setup();
    await runInVirtualTime(START, async () => {
      await iam.send(
        new CreateRoleCommand({
          RoleName: 'r',
          AssumeRolePolicyDocument: TRUST,
          Tags: [{ Key: 'A', Value: '1' }],
        }),
      );
      await iam.send(
        new TagRoleCommand({
          RoleName: 'r',
          Tags: [
            { Key: 'A', Value: '2' },
            { Key: 'B', Value: '3' },
          ],
        }),
      );
      const { Role } = await iam.send(new GetRoleCommand({ RoleName: 'r' }));
      expect(Role?.Tags).toEqual([
        { Key: 'A', Value: '2' },
        { Key: 'B', Value: '3' },
      ]);
    });
  });
});

describe('IAM instance profiles', () => {
  it('holds one role and is usable by EC2 only after the propagation delay', async () => {
    const { account, iam } = setup();
    await runInVirtualTime(START, async () => {
      await iam.send(new CreateRoleCommand({ RoleName: 'r', AssumeRolePolicyDocument: TRUST }));
      const { InstanceProfile } = await iam.send(
        new CreateInstanceProfileCommand({ InstanceProfileName: 'p', Path: '/capideploy/' }),
      );
      expect(InstanceProfile?.Arn).toBe('arn:aws:iam::123456789012:instance-profile/capideploy/p');
      expect(InstanceProfile?.InstanceProfileId).toMatch(/^AIPA/);
      const profiles = () => account.stateOf<IamState>('IAM').instanceProfiles;
      expect(profiles().p.usableAt).toBe(START + LATENCY_SECONDS.instanceProfilePropagation * 1000);

      await wait(30);
      await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'p', RoleName: 'r' }));
      // Adding the role restarts the propagation window.
      expect(profiles().p.usableAt).toBe(START + (30 + LATENCY_SECONDS.instanceProfilePropagation) * 1000);

      const got = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'p' }));
      expect(got.InstanceProfile?.Roles?.map((role) => role.RoleName)).toEqual(['r']);
      expect(got.InstanceProfile?.CreateDate).toEqual(new Date(START));

      const second = await rejection(() =>
        iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'p', RoleName: 'r' })),
      );
      expect(second.name).toBe('LimitExceededException');
      expect(second.Code).toBe('LimitExceeded');
      expect(second.message).toBe('Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1');
    });
  });
});

describe('IAM permissions boundaries and managed policies', () => {
  /** The boundary the stacks deploy, as a fresh simulated account has it (literal ARN). */
  const BOUNDARY = 'arn:aws:iam::123456789012:policy/capideploy/capideploy-instance-boundary';
  const bounded = (arn: string) => ({ PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: arn });

  it('creates a role with a boundary and returns it from CreateRole and GetRole', async () => {
    const { iam } = setup();
    await runInVirtualTime(START, async () => {
      const created = await iam.send(
        new CreateRoleCommand({
          RoleName: 'capideploy-demo-instance',
          Path: '/capideploy/',
          AssumeRolePolicyDocument: TRUST,
          PermissionsBoundary: BOUNDARY,
        }),
      );
      expect(created.Role?.PermissionsBoundary).toEqual(bounded(BOUNDARY));
      const got = await iam.send(new GetRoleCommand({ RoleName: 'capideploy-demo-instance' }));
      expect(got.Role?.PermissionsBoundary).toEqual(bounded(BOUNDARY));
      const plain = await iam.send(
        new CreateRoleCommand({ RoleName: 'plain', AssumeRolePolicyDocument: TRUST }),
      );
      expect(plain.Role?.PermissionsBoundary).toBeUndefined();
    });
  });

  it('refuses a boundary that does not exist or is not a policy ARN, creating nothing', async () => {
    const { account, iam } = setup();
    await runInVirtualTime(START, async () => {
      const missing = 'arn:aws:iam::123456789012:policy/capideploy/nope';
      const error = await rejection(() =>
        iam.send(
          new CreateRoleCommand({
            RoleName: 'r',
            AssumeRolePolicyDocument: TRUST,
            PermissionsBoundary: missing,
          }),
        ),
      );
      expect(error).toBeInstanceOf(NoSuchEntityException);
      expect(error.message).toBe(`Scope ARN: ${missing} does not exist or is not attachable.`);
      const invalid = await rejection(() =>
        iam.send(
          new CreateRoleCommand({
            RoleName: 'r',
            AssumeRolePolicyDocument: TRUST,
            PermissionsBoundary: 'not-an-arn',
          }),
        ),
      );
      expect(invalid.name).toBe('InvalidInputException');
      expect(account.stateOf<IamState>('IAM').roles).toEqual({});
    });
  });

  it('puts, replaces and deletes the boundary of an existing role', async () => {
    const { iam } = setup();
    await runInVirtualTime(START, async () => {
      await iam.send(new CreateRoleCommand({ RoleName: 'r', AssumeRolePolicyDocument: TRUST }));
      await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: 'r', PermissionsBoundary: BOUNDARY }));
      expect((await iam.send(new GetRoleCommand({ RoleName: 'r' }))).Role?.PermissionsBoundary).toEqual(
        bounded(BOUNDARY),
      );
      await iam.send(
        new PutRolePermissionsBoundaryCommand({
          RoleName: 'r',
          PermissionsBoundary: SSM_MANAGED_INSTANCE_CORE,
        }),
      );
      expect((await iam.send(new GetRoleCommand({ RoleName: 'r' }))).Role?.PermissionsBoundary).toEqual(
        bounded(SSM_MANAGED_INSTANCE_CORE),
      );
      await iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: 'r' }));
      expect(
        (await iam.send(new GetRoleCommand({ RoleName: 'r' }))).Role?.PermissionsBoundary,
      ).toBeUndefined();
      const gone = await rejection(() =>
        iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: 'nope', PermissionsBoundary: BOUNDARY })),
      );
      expect(gone).toBeInstanceOf(NoSuchEntityException);
      const unknown = await rejection(() =>
        iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: 'nope' })),
      );
      expect(unknown).toBeInstanceOf(NoSuchEntityException);
    });
  });

  it('creates and reads customer managed policies, which roles may then attach', async () => {
    const { iam } = setup();
    await runInVirtualTime(START, async () => {
      const created = await iam.send(
        new CreatePolicyCommand({ PolicyName: 'extra', Path: '/team/', PolicyDocument: POLICY }),
      );
      const arn = 'arn:aws:iam::123456789012:policy/team/extra';
      expect(created.Policy).toMatchObject({
        PolicyName: 'extra',
        Arn: arn,
        Path: '/team/',
        DefaultVersionId: 'v1',
      });
      expect(created.Policy?.PolicyId).toMatch(/^ANPA[0-9A-F]{17}$/);
      const duplicate = await rejection(() =>
        iam.send(new CreatePolicyCommand({ PolicyName: 'EXTRA', PolicyDocument: POLICY })),
      );
      expect(duplicate.name).toBe('EntityAlreadyExistsException');
      expect(duplicate.message).toBe(
        'A policy called EXTRA already exists. Duplicate names are not allowed.',
      );

      await iam.send(new CreateRoleCommand({ RoleName: 'r', AssumeRolePolicyDocument: TRUST }));
      await iam.send(new AttachRolePolicyCommand({ RoleName: 'r', PolicyArn: arn }));
      await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: 'r', PermissionsBoundary: arn }));
      const got = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
      expect(got.Policy).toMatchObject({
        AttachmentCount: 1,
        PermissionsBoundaryUsageCount: 1,
        IsAttachable: true,
      });
      expect(got.Policy?.CreateDate).toEqual(new Date(START));

      const missing = await rejection(() =>
        iam.send(new GetPolicyCommand({ PolicyArn: 'arn:aws:iam::123456789012:policy/nope' })),
      );
      expect(missing).toBeInstanceOf(NoSuchEntityException);
      expect(missing.message).toBe(
        'Policy arn:aws:iam::123456789012:policy/nope does not exist or is not attachable.',
      );
    });
  });

  it('has the instance boundary of the stacks in a fresh account; ensureInstanceBoundary adds it to others', async () => {
    const { account, iam } = setup();
    await runInVirtualTime(START, async () => {
      expect((await iam.send(new GetPolicyCommand({ PolicyArn: BOUNDARY }))).Policy).toMatchObject({
        PolicyName: 'capideploy-instance-boundary',
        Path: '/capideploy/',
      });
      expect(ensureInstanceBoundary(account)).toBe(BOUNDARY);
      const customer = ensureInstanceBoundary(account, { accountId: '444455556666' });
      expect(customer).toBe('arn:aws:iam::444455556666:policy/capideploy/capideploy-instance-boundary');
      expect(ensureInstanceBoundary(account, { accountId: '444455556666' })).toBe(customer);
      expect(Object.keys(account.stateOf<IamState>('IAM').policies ?? {}).sort()).toEqual([
        BOUNDARY,
        customer,
      ]);
    });
  });

  it('adds the boundary to an account saved before managed policies existed', () => {
    const { account } = setup();
    const state = account.stateOf<IamState>('IAM');
    delete state.policies;
    expect(ensureInstanceBoundary(account)).toBe(BOUNDARY);
    expect(account.stateOf<IamState>('IAM').policies?.[BOUNDARY]?.PolicyName).toBe(
      'capideploy-instance-boundary',
    );
  });
});
