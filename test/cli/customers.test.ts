import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeleteParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import { captureOutput } from './capture.js';

/**
 * `capi-deploy customers add|list|remove` (src/cli/customer-commands.ts) and SaaS mode offline end to end: a customer
 * registered in local mode, a create and a delete of a spec that names it, and every output of those runs searched
 * for the external id.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const sample = JSON.parse(readFileSync(join(root, 'examples/sample.json'), 'utf8'));
const EXTERNAL_ID = 'ext-7f3a9c2e-5d41-4b8f-acme';
const ROLE = 'arn:aws:iam::210987654321:role/capideploy-operator-acme';

const captured = captureOutput();
const everything = () => [...captured.out, ...captured.err].join('\n');
let stdin = `${EXTERNAL_ID}\n`;
const run = (...argv: string[]) => main(argv, { customers: { readStdin: async () => stdin } });

let dir: string;
let stateDir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'capi-customers-'));
  stateDir = join(dir, 'state');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  stdin = `${EXTERNAL_ID}\n`;
});

/** Every file under a directory, recursively. */
function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  return readdirSync(path, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(path, entry.name)) : [join(path, entry.name)],
  );
}

describe('SaaS mode offline, from the CLI', () => {
  it('registers, creates, reports and deletes without the external id appearing anywhere', async () => {
    const printed: string[] = [];
    const step = async (expected: number, ...argv: string[]) => {
      const code = await run(...argv, '--local', '--state-dir', stateDir);
      printed.push(everything());
      captured.out.length = 0;
      captured.err.length = 0;
      expect(code, `${argv.join(' ')}:\n${printed.at(-1)}`).toBe(expected);
    };
    const specFile = join(dir, 'acme.json');
    writeFileSync(specFile, JSON.stringify({ ...sample, name: 'acme-prod', customer: 'acme' }));
    const html = join(dir, 'report.html');

    await step(0, 'customers', 'add', 'acme', '--role-arn', ROLE);
    expect(printed.at(-1)).toContain(`customer acme registered: role ${ROLE}`);
    // The customer role, as the CapiDeployCustomerRole stack would make it in account 210987654321.
    const { services } = JSON.parse(readFileSync(join(stateDir, 'account.json'), 'utf8'));
    const role = services.IAM.roles['capideploy-operator-acme'];
    expect(role.Arn).toBe(ROLE);
    expect(JSON.parse(role.AssumeRolePolicyDocument).Statement[0]).toMatchObject({
      Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      Condition: {
        StringEquals: { 'sts:ExternalId': EXTERNAL_ID },
        ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/capideploy-workflow/*' },
      },
    });
    const policy = JSON.parse(role.InlinePolicies['capideploy-operator']);
    expect(policy.Statement.flatMap((statement: { Action: string[] }) => statement.Action)).toContain(
      'ec2:RunInstances',
    );
    expect(JSON.stringify(policy)).not.toContain('customers');
    expect(services.IAM.policies).toHaveProperty([
      'arn:aws:iam::210987654321:policy/capideploy/capideploy-instance-boundary',
    ]);
    expect(services.SSM.parameters['/capideploy/customers/acme'].Type).toBe('SecureString');
    await step(0, 'customers', 'list');
    expect(printed.at(-1)).toBe(`acme  ${ROLE}`);
    await step(0, 'customers', 'list', '--json');
    expect(JSON.parse(printed.at(-1)!)).toEqual({ customers: [{ name: 'acme', roleArn: ROLE }] });

    await step(0, 'create', specFile);
    await step(0, 'history', 'acme-prod');
    await step(0, 'report', 'acme-prod', '--html', html);
    await step(0, 'status', 'acme-prod');
    await step(0, 'delete', 'acme-prod');
    await step(0, 'history', 'acme-prod', '--json');

    // The workflow really ran under the customer's role, assumed with the registry's external id.
    const records = filesUnder(join(stateDir, 'executions'));
    const create = records
      .map((file) => JSON.parse(readFileSync(file, 'utf8')) as ExecutionRecord)
      .find((record) => record.machine === 'create-deployment')!;
    expect(create.status).toBe('SUCCEEDED');
    expect(create.metrics.apiCallsByOperation['STS:AssumeRole']).toBeGreaterThan(0);
    expect(create.metrics.apiCallsByOperation['SSM:GetParameter']).toBeGreaterThan(0);

    // Zero hits: stdout and stderr of every command, the execution records, the stored specs, the HTML report.
    const places = [
      ...printed.map((text, i) => ({ where: `output of command ${i}`, text })),
      ...[...records, ...filesUnder(join(stateDir, 'deployments')), html].map((file) => ({
        where: file,
        text: readFileSync(file, 'utf8'),
      })),
    ];
    expect(places.length).toBeGreaterThan(10);
    expect(places.filter(({ text }) => text.includes(EXTERNAL_ID)).map(({ where }) => where)).toEqual([]);
    expect(readFileSync(html, 'utf8')).toContain('acme-prod');
  });

  it('refuses a second add of the same name without --replace, and replaces with it', async () => {
    expect(
      await run('customers', 'add', 'acme', '--role-arn', ROLE, '--local', '--state-dir', stateDir),
    ).toBe(2);
    expect(captured.err).toEqual([
      expect.stringMatching(/^customer acme is already registered .*; add --replace/),
    ]);
    stdin = 'ext-rotated-2\n';
    expect(
      await run(
        'customers',
        'add',
        'acme',
        '--role-arn',
        ROLE,
        '--replace',
        '--local',
        '--state-dir',
        stateDir,
      ),
    ).toBe(0);
    expect(captured.out.join('\n')).toContain('customer acme replaced');
    expect(everything()).not.toContain('ext-rotated-2');
  });

  it('fails a create of an unknown customer at preflight, before anything is created', async () => {
    const specFile = join(dir, 'nobody.json');
    writeFileSync(specFile, JSON.stringify({ ...sample, name: 'nobody-dev', customer: 'nobody' }));
    expect(await run('create', specFile, '--local', '--state-dir', stateDir, '--json')).toBe(1);
    const result = JSON.parse(captured.out.join('\n'));
    expect(result.failure).toMatchObject({
      state: 'Check AMI, instance types and quota',
      error: 'UnknownCustomer',
    });
    expect(result.failure.cause).toContain('capi-deploy customers add');
    expect(result.resources).toEqual([]);
  });

  it('removes a customer and its simulated role; removing it again is bad input', async () => {
    expect(await run('customers', 'remove', 'acme', '--local', '--state-dir', stateDir)).toBe(0);
    expect(await run('customers', 'list', '--local', '--state-dir', stateDir)).toBe(0);
    expect(captured.out.at(-1)).toBe('no customers registered');
    const { services } = JSON.parse(readFileSync(join(stateDir, 'account.json'), 'utf8'));
    expect(Object.keys(services.IAM.roles)).not.toContain('capideploy-operator-acme');
    expect(Object.keys(services.STS.assumableRoles)).not.toContain(ROLE);
    expect(
      Object.keys(services.SSM.parameters).filter((name) => name.startsWith('/capideploy/customers/')),
    ).toEqual([]);
    expect(await run('customers', 'remove', 'acme', '--local', '--state-dir', stateDir)).toBe(2);
    expect(captured.err.at(-1)).toBe('name: no customer named acme is registered');
  });
});

describe('capi-deploy customers: bad input is exit 2, one line naming the field', () => {
  const add = (name: string, roleArn: string) =>
    run('customers', 'add', name, '--role-arn', roleArn, '--local', '--state-dir', join(dir, 'bad'));

  it.each([
    ['a bad name', 'Acme_Corp', ROLE, '', /^name: must be 1 to 24 lowercase/],
    ['a bad role ARN', 'acme', 'role/capideploy-operator', '', /^roleArn: must be an IAM role ARN/],
    [
      'a role the workflow may not assume',
      'acme',
      'arn:aws:iam::210987654321:role/Admin',
      '',
      /^roleArn: must name a role called capideploy-operator\*/,
    ],
    ['an empty standard input', 'acme', ROLE, '\n', /^external id \(standard input\): is empty$/],
    [
      'an external id STS refuses',
      'acme',
      ROLE,
      'has spaces in it\n',
      /^external id \(standard input\): must be 2 to 1224/,
    ],
  ])('refuses %s', async (_, name, roleArn, input, message) => {
    if (input) stdin = input;
    expect(await add(name, roleArn)).toBe(2);
    expect(captured.err).toEqual([expect.stringMatching(message)]);
    expect(captured.err.join('\n')).not.toContain('has spaces');
    expect(captured.err.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('refuses, before writing anything, a role whose name another account already uses offline', async () => {
    const state = join(dir, 'clash');
    expect(await run('customers', 'add', 'one', '--role-arn', ROLE, '--local', '--state-dir', state)).toBe(0);
    const other = 'arn:aws:iam::111111111111:role/capideploy-operator-acme';
    expect(await run('customers', 'add', 'two', '--role-arn', other, '--local', '--state-dir', state)).toBe(
      2,
    );
    expect(captured.err.at(-1)).toMatch(/^roleArn: the simulated account already has a role named/);
    expect(await run('customers', 'list', '--local', '--state-dir', state)).toBe(0);
    expect(captured.out.at(-1)).toBe(`one  ${ROLE}`);
  });

  it('refuses --region with --local', async () => {
    expect(await run('customers', 'list', '--local', '--region', 'us-east-1')).toBe(2);
  });

  it('refuses a spec with an inline assumeRole in validate, saying how to register the customer', async () => {
    const file = join(dir, 'inline.json');
    writeFileSync(
      file,
      JSON.stringify({ ...sample, assumeRole: { roleArn: ROLE, externalId: EXTERNAL_ID } }),
    );
    expect(await main(['validate', file])).toBe(2);
    expect(captured.err.join('\n')).toContain(
      'assumeRole: inline external ids are not accepted: register the customer with "capi-deploy customers add <name> --role-arn <arn>"',
    );
    expect(captured.err.join('\n')).not.toContain(EXTERNAL_ID);
  });
});

describe('capi-deploy customers against AWS: the operator SSM client in the stack region', () => {
  // Mocked only here: the local tests above use real SSM clients on the simulated account.
  let ssmMock: ReturnType<typeof mockClient>;
  beforeAll(() => {
    ssmMock = mockClient(SSMClient);
  });
  afterAll(() => ssmMock.restore());
  beforeEach(() => ssmMock.reset());

  it('adds a SecureString under /capideploy/customers/, lists names and ARNs, removes', async () => {
    ssmMock.on(GetParametersByPathCommand).resolvesOnce({ Parameters: [] });
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    expect(await run('customers', 'add', 'acme', '--role-arn', ROLE, '--region', 'eu-west-1')).toBe(0);
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: '/capideploy/customers/acme',
      Type: 'SecureString',
      Value: JSON.stringify({ roleArn: ROLE, externalId: EXTERNAL_ID }),
      Overwrite: false,
    });
    expect(await ssmMock.call(0).thisValue.config.region()).toBe('eu-west-1');

    ssmMock.on(GetParametersByPathCommand).resolves({
      Parameters: [
        {
          Name: '/capideploy/customers/acme',
          Type: 'SecureString',
          Value: JSON.stringify({ roleArn: ROLE, externalId: EXTERNAL_ID }),
        },
      ],
    });
    expect(await run('customers', 'list', '--region', 'eu-west-1')).toBe(0);
    expect(captured.out.at(-1)).toBe(`acme  ${ROLE}`);
    ssmMock.on(DeleteParameterCommand).resolves({});
    expect(await run('customers', 'remove', 'acme', '--region', 'eu-west-1')).toBe(0);
    expect(ssmMock).toHaveReceivedCommandWith(DeleteParameterCommand, { Name: '/capideploy/customers/acme' });
    expect(everything()).not.toContain(EXTERNAL_ID);
  });
});
