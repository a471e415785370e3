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
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListInstanceProfilesForRoleCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  TagRoleCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { OPERATOR_ACCESS_KEY, SimulatedAccount } from '../../src/sim/account.js';
import { runInVirtualTime } from '../../src/sim/clock.js';
import { LATENCY_SECONDS } from '../../src/sim/latency.js';
import { attachSimulator } from '../../src/sim/middleware.js';
import { type IamState, iamSimulator, SSM_MANAGED_INSTANCE_CORE } from '../../src/sim/services/iam.js';

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
  const account = new SimulatedAccount([iamSimulator]);
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
