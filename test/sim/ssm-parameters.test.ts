import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { describe, expect, it, vi } from 'vitest';
import { OPERATOR_ACCESS_KEY } from '../../src/sim/account.js';
import { runInVirtualTime } from '../../src/sim/clock.js';
import { attachSimulator } from '../../src/sim/middleware.js';
import { openAccount } from '../../src/sim/services/index.js';

// A stand-in for the EC2 simulator: these tests need only its AMI table.
vi.mock('../../src/sim/services/ec2.js', () => ({
  ec2Simulator: { name: 'EC2', initialState: () => ({ instances: {} }), operations: {} },
  refreshEc2: () => undefined,
  subnetHasInternetRoute: () => null,
  UBUNTU_AMIS: { 'us-east-1/arm64': 'ami-0a1b2c3d4e5f60001', 'us-east-1/amd64': 'ami-0a1b2c3d4e5f60002' },
}));

const START = Date.parse('2026-01-05T10:00:00Z');
const PATH = '/capideploy/demo/';

function setup(stateDir: string | null = null) {
  const account = openAccount(stateDir, { documents: {}, callLatency: false });
  const ssm = new SSMClient({
    region: 'us-east-1',
    credentials: { accessKeyId: OPERATOR_ACCESS_KEY, secretAccessKey: 'simulated' },
    maxAttempts: 1,
  });
  attachSimulator(ssm, account);
  const inVirtualTime = <T>(work: () => Promise<T>) =>
    runInVirtualTime(START, work).then((run) => run.result);
  return { account, ssm, inVirtualTime };
}

async function rejection(work: () => Promise<unknown>): Promise<any> {
  return work().then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

const secure = (name: string, value: string) =>
  new PutParameterCommand({
    Name: `${PATH}${name}`,
    Value: value,
    Type: 'SecureString',
    KeyId: 'alias/capideploy',
    Tags: [{ Key: 'DeploymentName', Value: 'demo' }],
  });

describe('SSM Parameter Store', () => {
  it('round-trips a SecureString, decrypted only WithDecryption', async () => {
    const { ssm, inVirtualTime } = setup();
    await inVirtualTime(async () => {
      expect(await ssm.send(secure('rabbitmq/admin-password', 's3cret-value'))).toMatchObject({
        Version: 1,
        Tier: 'Standard',
      });
      const name = `${PATH}rabbitmq/admin-password`;
      const plain = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      expect(plain.Parameter).toMatchObject({
        Name: name,
        Type: 'SecureString',
        Value: 's3cret-value',
        Version: 1,
      });
      expect(plain.Parameter?.LastModifiedDate).toEqual(new Date(START));
      expect(plain.Parameter?.ARN).toBe(`arn:aws:ssm:us-east-1:123456789012:parameter${name}`);

      const hidden = await ssm.send(new GetParameterCommand({ Name: name }));
      expect(hidden.Parameter?.Value).not.toContain('s3cret');
      expect(hidden.Parameter?.Value).toMatch(/^AQICAH/);
      const listed = await ssm.send(new GetParametersByPathCommand({ Path: PATH, Recursive: true }));
      expect(listed.Parameters?.[0].Value).not.toContain('s3cret');
    });
  });

  it('refuses to overwrite without Overwrite, and bumps the version with it', async () => {
    const { ssm, inVirtualTime } = setup();
    await inVirtualTime(async () => {
      await ssm.send(secure('cassandra/password', 'one'));
      const exists = await rejection(() => ssm.send(secure('cassandra/password', 'two')));
      expect(exists.name).toBe('ParameterAlreadyExists');
      expect(exists.message).toBe(
        'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      );
      const withTags = await rejection(() =>
        ssm.send(
          new PutParameterCommand({
            Name: `${PATH}cassandra/password`,
            Value: 'two',
            Overwrite: true,
            Tags: [{ Key: 'A', Value: 'b' }],
          }),
        ),
      );
      expect(withTags.name).toBe('ValidationException');
      const overwritten = await ssm.send(
        new PutParameterCommand({ Name: `${PATH}cassandra/password`, Value: 'two', Overwrite: true }),
      );
      expect(overwritten.Version).toBe(2);
      const got = await ssm.send(
        new GetParameterCommand({ Name: `${PATH}cassandra/password`, WithDecryption: true }),
      );
      expect(got.Parameter).toMatchObject({ Value: 'two', Type: 'SecureString', Version: 2 });
    });
  });

  it('lists by path, one level or recursively, one page at a time', async () => {
    const { ssm, inVirtualTime } = setup();
    await inVirtualTime(async () => {
      for (const name of ['top', 'rabbitmq/admin-password', 'rabbitmq/user-password', 'cassandra/password']) {
        await ssm.send(secure(name, `value-of-${name}`));
      }
      const oneLevel = await ssm.send(new GetParametersByPathCommand({ Path: '/capideploy/demo' }));
      expect(oneLevel.Parameters?.map((p) => p.Name)).toEqual([`${PATH}top`]);

      const names: string[] = [];
      let NextToken: string | undefined;
      let pages = 0;
      do {
        const page = await ssm.send(
          new GetParametersByPathCommand({ Path: PATH, Recursive: true, MaxResults: 3, NextToken }),
        );
        names.push(...(page.Parameters ?? []).map((p) => p.Name!));
        NextToken = page.NextToken;
        pages += 1;
      } while (NextToken);
      expect(pages).toBe(2);
      expect(names).toHaveLength(4);

      const described = await ssm.send(
        new DescribeParametersCommand({
          ParameterFilters: [{ Key: 'Path', Option: 'Recursive', Values: [`${PATH}rabbitmq`] }],
        }),
      );
      expect(described.Parameters?.map((p) => p.Name)).toEqual([
        `${PATH}rabbitmq/admin-password`,
        `${PATH}rabbitmq/user-password`,
      ]);
      expect(described.Parameters?.[0]).toMatchObject({ Type: 'SecureString', KeyId: 'alias/capideploy' });
      const badKey = await rejection(() =>
        ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Colour', Values: ['x'] }] })),
      );
      expect(badKey.name).toBe('InvalidFilterKey');

      const byName = await ssm.send(
        new GetParametersCommand({ Names: [`${PATH}top`, `${PATH}missing`], WithDecryption: true }),
      );
      expect(byName.Parameters?.map((p) => p.Value)).toEqual(['value-of-top']);
      expect(byName.InvalidParameters).toEqual([`${PATH}missing`]);
    });
  });

  it('deletes one or many, reporting the ones it did not find', async () => {
    const { ssm, inVirtualTime } = setup();
    await inVirtualTime(async () => {
      await ssm.send(secure('a', '1'));
      await ssm.send(secure('b', '2'));
      const deleted = await ssm.send(new DeleteParametersCommand({ Names: [`${PATH}a`, `${PATH}zzz`] }));
      expect(deleted).toMatchObject({ DeletedParameters: [`${PATH}a`], InvalidParameters: [`${PATH}zzz`] });
      await ssm.send(new DeleteParameterCommand({ Name: `${PATH}b` }));
      const missing = await rejection(() => ssm.send(new DeleteParameterCommand({ Name: `${PATH}b` })));
      expect(missing).toBeInstanceOf(ParameterNotFound);
      const get = await rejection(() => ssm.send(new GetParameterCommand({ Name: `${PATH}b` })));
      expect(get.name).toBe('ParameterNotFound');
    });
  });

  it('persists parameters in the state directory of openAccount', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capi-ssm-'));
    const first = setup(dir);
    await first.inVirtualTime(() => first.ssm.send(secure('kept', 'v1')));
    first.account.save(dir);
    const second = setup(dir);
    const { Parameter } = await second.inVirtualTime(() =>
      second.ssm.send(new GetParameterCommand({ Name: `${PATH}kept`, WithDecryption: true })),
    );
    expect(Parameter?.Value).toBe('v1');
  });

  it('resolves the public Ubuntu AMI parameters from the EC2 AMI table', async () => {
    const { ssm, inVirtualTime } = setup();
    await inVirtualTime(async () => {
      const name = '/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id';
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name }));
      expect(Parameter).toMatchObject({
        Value: 'ami-0a1b2c3d4e5f60001',
        Type: 'String',
        DataType: 'aws:ec2:image',
      });
      const other = name.replace('24.04', '22.04');
      expect((await rejection(() => ssm.send(new GetParameterCommand({ Name: other })))).name).toBe(
        'ParameterNotFound',
      );
      const reserved = await rejection(() =>
        ssm.send(new PutParameterCommand({ Name: '/aws/mine', Value: 'x', Type: 'String' })),
      );
      expect(reserved.name).toBe('ValidationException');
    });
  });
});
