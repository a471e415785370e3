import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clientsFor, configureClients } from '../../../functions/shared/clients.js';
import { expectNamedError } from '../helpers.js';

const stsMock = mockClient(STSClient);
const TARGET = { roleArn: 'arn:aws:iam::210987654321:role/capideploy-operator', externalId: 'ext-7f3a' };
const START = Date.parse('2026-01-05T10:00:00Z');

function assumable() {
  let session = 0;
  stsMock.on(AssumeRoleCommand).callsFake(() => {
    session++;
    return {
      Credentials: {
        AccessKeyId: `ASIA${session}`,
        SecretAccessKey: 'secret',
        SessionToken: `token-${session}`,
        Expiration: new Date(Date.now() + 3600_000),
      },
    };
  });
  stsMock
    .on(GetCallerIdentityCommand)
    .resolvesOnce({ Arn: 'arn:aws:iam::123456789012:user/operator' })
    .resolves({ Arn: 'arn:aws:sts::210987654321:assumed-role/capideploy-operator/capideploy' });
}

beforeEach(() => {
  stsMock.reset();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
  configureClients({ credentials: { accessKeyId: 'AKIDBASE', secretAccessKey: 'base' } });
});

afterEach(() => {
  vi.useRealTimers();
  configureClients({});
});

describe('clientsFor with assumeRole', () => {
  it('assumes the role once and renews the credentials 5 minutes before they expire', async () => {
    // Prepare
    assumable();
    const clients = await clientsFor('us-east-1', TARGET);
    const credentials = () => clients.ec2.config.credentials();
    // Act and assess: within the hour, the same session
    expect((await credentials()).accessKeyId).toBe('ASIA1');
    vi.setSystemTime(START + 50 * 60_000);
    expect((await credentials()).accessKeyId).toBe('ASIA1');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    // 56 minutes in: less than 5 minutes left, so a new session
    vi.setSystemTime(START + 56 * 60_000);
    expect((await credentials()).accessKeyId).toBe('ASIA2');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: TARGET.roleArn,
      ExternalId: TARGET.externalId,
      DurationSeconds: 3600,
    });
  });

  it('fails as AccessDenied naming the role when AssumeRole is refused', async () => {
    stsMock
      .on(AssumeRoleCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    await expectNamedError(clientsFor('eu-west-1', TARGET), 'AccessDenied', {
      resource: `role ${TARGET.roleArn}`,
      id: TARGET.roleArn,
      awsError: 'AccessDenied',
    });
  });
});
