import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clientsFor, configureClients } from '../../../functions/shared/clients.js';
import { deploymentContext } from '../../../functions/shared/context.js';
import { configureCustomerRegistry, resolveCustomer } from '../../../functions/shared/customers.js';
import { awsError, expectNamedError, specWith } from '../helpers.js';

/** functions/shared/customers.ts: the Lambdas' read of the customers registry, and what it keeps out of causes. */

const ssmMock = mockClient(SSMClient);
const stsMock = mockClient(STSClient);
const ROLE = 'arn:aws:iam::210987654321:role/capideploy-operator-acme';
const EXTERNAL_ID = 'ext-registry-4d2c';
const entry = (externalId = EXTERNAL_ID) => ({
  Parameter: {
    Name: '/capideploy/customers/acme',
    Type: 'SecureString' as const,
    Value: JSON.stringify({ roleArn: ROLE, externalId }),
  },
});

beforeEach(() => {
  ssmMock.reset();
  stsMock.reset();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.parse('2026-01-05T10:00:00Z'));
  configureClients({ credentials: { accessKeyId: 'AKIDBASE', secretAccessKey: 'base' } });
  configureCustomerRegistry({ region: 'us-east-1' });
});

afterEach(() => {
  vi.useRealTimers();
  configureClients({});
  configureCustomerRegistry({});
});

describe('resolveCustomer', () => {
  it('reads the SecureString with decryption in the registry region, once per warm container', async () => {
    ssmMock.on(GetParameterCommand).resolves(entry());
    expect(await resolveCustomer('acme')).toEqual({ roleArn: ROLE, externalId: EXTERNAL_ID });
    expect(await resolveCustomer('acme')).toEqual({ roleArn: ROLE, externalId: EXTERNAL_ID });
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: '/capideploy/customers/acme',
      WithDecryption: true,
    });
    expect(await ssmMock.call(0).thisValue.config.region()).toBe('us-east-1');
  });

  it('reads again after five minutes, so a replaced entry is picked up', async () => {
    ssmMock.on(GetParameterCommand).resolvesOnce(entry('old-id-1')).resolves(entry());
    expect((await resolveCustomer('acme')).externalId).toBe('old-id-1');
    vi.setSystemTime(Date.now() + 5 * 60_000 + 1);
    expect((await resolveCustomer('acme')).externalId).toBe(EXTERNAL_ID);
  });

  it('fails an unknown customer as UnknownCustomer saying how to register it, and does not cache the miss', async () => {
    ssmMock.on(GetParameterCommand).rejectsOnce(awsError('ParameterNotFound')).resolves(entry());
    await expectNamedError(resolveCustomer('acme'), 'UnknownCustomer', {
      resource: 'customer acme',
      id: '/capideploy/customers/acme',
      awsError: 'ParameterNotFound',
    });
    await expect(resolveCustomer('acme')).resolves.toEqual({ roleArn: ROLE, externalId: EXTERNAL_ID });
  });

  it('fails an unreadable entry as UnknownCustomer without quoting it', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: `{"externalId":"${EXTERNAL_ID}"}` } });
    const error = await resolveCustomer('acme').catch((e: Error) => e);
    expect((error as Error).name).toBe('UnknownCustomer');
    expect((error as Error).message).not.toContain(EXTERNAL_ID);
  });

  it('keeps throttling retryable (Throttled)', async () => {
    ssmMock.on(GetParameterCommand).rejects(awsError('ThrottlingException'));
    await expectNamedError(resolveCustomer('acme'), 'Throttled', { resource: 'customer acme' });
  });
});

describe('deploymentContext of a spec naming a customer', () => {
  it("assumes the registry's role with the registry's external id", async () => {
    ssmMock.on(GetParameterCommand).resolves(entry());
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIA1',
        SecretAccessKey: 's',
        SessionToken: 't',
        Expiration: new Date(Date.now() + 3600_000),
      },
    });
    stsMock
      .on(GetCallerIdentityCommand)
      .resolvesOnce({ Arn: 'arn:aws:iam::123456789012:role/capideploy-workflow/x' })
      .resolves({ Arn: 'arn:aws:sts::210987654321:assumed-role/capideploy-operator-acme/capideploy' });
    await deploymentContext(specWith({ customer: 'acme' }));
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, { RoleArn: ROLE, ExternalId: EXTERNAL_ID });
  });
});

describe('an AssumeRole failure cause', () => {
  it('never holds the external id, even when STS echoes it', async () => {
    stsMock
      .on(AssumeRoleCommand)
      .rejects(
        awsError(
          'ValidationError',
          `1 validation error detected: Value '${EXTERNAL_ID}' at 'externalId' failed to satisfy constraint`,
        ),
      );
    const error = await clientsFor('eu-west-1', { roleArn: ROLE, externalId: EXTERNAL_ID }).catch(
      (e: Error) => e,
    );
    expect((error as Error).name).toBe('AccessDenied');
    expect((error as Error).message).toContain('<external id>');
    expect(JSON.stringify(error)).not.toContain(EXTERNAL_ID);
    expect(String((error as Error).cause)).not.toContain(EXTERNAL_ID);
  });
});
