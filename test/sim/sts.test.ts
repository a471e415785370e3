import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { OPERATOR_ACCESS_KEY, SimulatedAccount } from '../../src/sim/account.js';
import { runInVirtualTime } from '../../src/sim/clock.js';
import { attachSimulator } from '../../src/sim/middleware.js';
import { registerAssumableRole, stsSimulator } from '../../src/sim/services/sts.js';

const START = Date.parse('2026-01-05T10:00:00Z');
const OPERATOR_ARN = 'arn:aws:iam::123456789012:user/capideploy-operator';
const CUSTOMER_ROLE = 'arn:aws:iam::210987654321:role/RoleCapideployOperator';

function client(account: SimulatedAccount, accessKeyId = OPERATOR_ACCESS_KEY, sessionToken?: string) {
  const sts = new STSClient({
    region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey: 'simulated', sessionToken },
    maxAttempts: 1,
  });
  attachSimulator(sts, account);
  return sts;
}

function setup() {
  const account = new SimulatedAccount([stsSimulator], { callLatency: false });
  registerAssumableRole(account, CUSTOMER_ROLE, { externalId: 'ext-7f3a', trustedAccount: '123456789012' });
  return { account, sts: client(account) };
}

async function rejection(work: () => Promise<unknown>): Promise<any> {
  return work().then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

const denied = (roleArn: string) =>
  `User: ${OPERATOR_ARN} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`;

describe('STS', () => {
  it('tells the operator who they are', async () => {
    const { sts } = setup();
    const { result } = await runInVirtualTime(START, () => sts.send(new GetCallerIdentityCommand({})));
    expect(result).toMatchObject({ Account: '123456789012', Arn: OPERATOR_ARN });
    expect(result.UserId).toMatch(/^AIDA/);
  });

  it('denies AssumeRole with a missing or wrong external id, an unknown role or an untrusted caller', async () => {
    const { account, sts } = setup();
    registerAssumableRole(account, 'arn:aws:iam::210987654321:role/Other', {
      trustedAccount: '999999999999',
    });
    await runInVirtualTime(START, async () => {
      const cases = [
        { RoleArn: CUSTOMER_ROLE, RoleSessionName: 'capideploy' },
        { RoleArn: CUSTOMER_ROLE, RoleSessionName: 'capideploy', ExternalId: 'ext-wrong' },
        { RoleArn: 'arn:aws:iam::210987654321:role/Unknown', RoleSessionName: 'capideploy' },
        { RoleArn: 'arn:aws:iam::210987654321:role/Other', RoleSessionName: 'capideploy' },
      ];
      for (const input of cases) {
        const error = await rejection(() => sts.send(new AssumeRoleCommand(input)));
        expect(error.name).toBe('AccessDenied');
        expect(error.message).toBe(denied(input.RoleArn));
        expect(error.$metadata.httpStatusCode).toBe(403);
      }
    });
  });

  it('with the right external id, hands out credentials that change the caller identity', async () => {
    const { account, sts } = setup();
    await runInVirtualTime(START, async () => {
      const assumed = await sts.send(
        new AssumeRoleCommand({
          RoleArn: CUSTOMER_ROLE,
          RoleSessionName: 'capideploy',
          ExternalId: 'ext-7f3a',
        }),
      );
      const credentials = assumed.Credentials!;
      expect(credentials.AccessKeyId).toMatch(/^ASIA[0-9A-Z]{16}$/);
      expect(credentials.SecretAccessKey).toHaveLength(40);
      expect(credentials.SessionToken?.length).toBeGreaterThan(100);
      expect(credentials.Expiration).toEqual(new Date(START + 3600_000));
      const arn = 'arn:aws:sts::210987654321:assumed-role/RoleCapideployOperator/capideploy';
      expect(assumed.AssumedRoleUser?.Arn).toBe(arn);

      const asRole = client(account, credentials.AccessKeyId!, credentials.SessionToken);
      const identity = await asRole.send(new GetCallerIdentityCommand({}));
      expect(identity).toMatchObject({ Account: '210987654321', Arn: arn });
      expect(identity.UserId).toMatch(/^AROA[0-9A-Z]{17}:capideploy$/);
    });
  });

  it('keeps sessions across a save and reopen of the account', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capi-sts-'));
    const { account, sts } = setup();
    const { result } = await runInVirtualTime(START, () =>
      sts.send(
        new AssumeRoleCommand({
          RoleArn: CUSTOMER_ROLE,
          RoleSessionName: 'capideploy',
          ExternalId: 'ext-7f3a',
        }),
      ),
    );
    account.save(dir);
    const reopened = SimulatedAccount.open(dir, [stsSimulator]);
    expect(reopened.identityFor(result.Credentials!.AccessKeyId!).accountId).toBe('210987654321');
  });

  it('rejects a session longer than the role allows, and a bad session name', async () => {
    const { sts } = setup();
    await runInVirtualTime(START, async () => {
      const long = await rejection(() =>
        sts.send(
          new AssumeRoleCommand({
            RoleArn: CUSTOMER_ROLE,
            RoleSessionName: 'capideploy',
            ExternalId: 'ext-7f3a',
            DurationSeconds: 7200,
          }),
        ),
      );
      expect(long.name).toBe('ValidationError');
      expect(long.message).toBe(
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
      const badName = await rejection(() =>
        sts.send(new AssumeRoleCommand({ RoleArn: CUSTOMER_ROLE, RoleSessionName: 'has space' })),
      );
      expect(badName.name).toBe('ValidationError');
    });
  });
});
