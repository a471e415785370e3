import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import sample from '../../examples/sample.json' with { type: 'json' };
import { PROVISIONING_DOCUMENTS } from '../../src/core/documents.js';
import { DeploymentSpecSchema } from '../../src/core/spec/schema.js';
import {
  checkFaultRules,
  EFFECT_OPERATIONS,
  type FaultRule,
  FaultRulesSchema,
  faultTargets,
  INTERNAL_OPERATIONS,
} from '../../src/sim/faults.js';
import { createSimulators } from '../../src/sim/services/index.js';

/**
 * Fault rules that can never match, or carry a field with no effect, are refused (src/sim/faults.ts,
 * `checkFaultRules`): checked against the simulated services' operations and the deployment's plan.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const spec = DeploymentSpecSchema.parse(sample);
const context = {
  operations: Object.fromEntries(
    createSimulators({ documents: {} }).map((simulator) => [
      simulator.name,
      Object.keys(simulator.operations),
    ]),
  ),
  targets: faultTargets(spec),
  documents: PROVISIONING_DOCUMENTS,
};
const files = (folder: string): string[] =>
  readdirSync(folder).flatMap((name) =>
    statSync(join(folder, name)).isDirectory() ? files(join(folder, name)) : [join(folder, name)],
  );
const rules = (...input: unknown[]): FaultRule[] => FaultRulesSchema.parse(input);
const check = (...input: unknown[]) => checkFaultRules(rules(...input), context);

const NODES = 'bastion, rabbitmq, prometheus, cass001..cass004, daemon001..daemon004';

/** One rule, one problem: [case, rule, field, the exact message]. */
type Case = [string, Record<string, unknown>, string, string];

const NEVER_MATCHES: Case[] = [
  [
    'an operation the service does not have, with the closest name',
    { service: 'EC2', operation: 'CreateNatGatewy', error: 'InternalError' },
    'operation',
    'EC2 has no operation CreateNatGatewy; did you mean CreateNatGateway?',
  ],
  [
    'an operation of another service, saying which',
    { service: 'EC2', operation: 'SendCommand', error: 'InternalError' },
    'operation',
    'EC2 has no operation SendCommand; it is an operation of SSM',
  ],
  [
    'an operation nothing is close to',
    { service: 'STS', operation: 'LaunchRockets', error: 'InternalError' },
    'operation',
    'STS has no operation LaunchRockets',
  ],
  [
    'a target no node or resource of the spec can have, with the nodes',
    { service: 'EC2', operation: 'RunInstances', target: 'cass999', error: 'InternalError' },
    'target',
    `cass999 names no node or resource of deployment sample (nodes: ${NODES})`,
  ],
  [
    'a misspelt target, with the closest node',
    { service: 'EC2', operation: 'RunInstances', target: 'daemon02', error: 'InternalError' },
    'target',
    `daemon02 names no node or resource of deployment sample; did you mean daemon002? (nodes: ${NODES})`,
  ],
  [
    'a document that does not exist',
    { service: 'SSM', operation: 'SendCommand', document: 'capi-casandra-install', exitCode: 1 },
    'document',
    'capi-casandra-install is no SSM document of the deployment; did you mean capi-cassandra-install?',
  ],
  [
    'document with error: the error fails SendCommand before any document runs',
    { service: 'SSM', operation: 'SendCommand', document: 'capi-health-check', error: 'InternalError' },
    'document',
    'never matches with error (the call fails before any document runs; to fail the command on a node, use exitCode, stderr or status instead of error)',
  ],
];

/** One rule, one field with no effect: [case, rule, field, the exact message]. */
const NO_EFFECT: Case[] = [
  ...Object.entries({ exitCode: 1, stderr: 'E: boom', status: 'Failed', document: 'capi-health-check' }).map(
    ([field, value]): Case => [
      `${field} on a non-SSM rule`,
      {
        service: 'EC2',
        operation: 'CreateNatGateway',
        delaySeconds: 60,
        [field]: value,
      },
      field,
      `no effect on an EC2 rule (${field} is for SSM SendCommand)`,
    ],
  ),
  [
    'exitCode on an SSM operation other than SendCommand',
    { service: 'SSM', operation: 'GetCommandInvocation', exitCode: 1 },
    'exitCode',
    'no effect on SSM GetCommandInvocation (exitCode is for SendCommand)',
  ],
  [
    'document on an SSM operation other than SendCommand',
    { service: 'SSM', operation: 'GetParameter', document: 'capi-health-check', error: 'X' },
    'document',
    'no effect on SSM GetParameter (document is for SendCommand)',
  ],
  [
    'an effect field on a rule that fails the call',
    { service: 'EC2', operation: 'CreateNatGateway', error: 'InternalError', delaySeconds: 60 },
    'delaySeconds',
    'no effect with error (the call fails; delaySeconds shapes a call that succeeds: use a second rule)',
  ],
  [
    'an effect field on an operation that does not consume effects',
    { service: 'EC2', operation: 'CreateVpc', delaySeconds: 60 },
    'delaySeconds',
    'no effect on EC2 CreateVpc (delaySeconds applies to EC2 CreateNatGateway, EC2 RunInstances, EC2 StopInstances, EC2 StartInstances, EC2 CreateImage, IAM AddRoleToInstanceProfile, SSM SendCommand)',
  ],
  [
    'an effect field the operation does not read',
    { service: 'IAM', operation: 'AddRoleToInstanceProfile', finalState: 'failed' },
    'finalState',
    'no effect on IAM AddRoleToInstanceProfile (finalState applies to EC2 CreateNatGateway, EC2 RunInstances, EC2 CreateImage, SSM SendCommand)',
  ],
  [
    'latencySeconds with error: the call fails at once',
    { service: 'EC2', operation: 'RunInstances', error: 'InternalError', latencySeconds: 90 },
    'latencySeconds',
    'no effect with error (the call fails at once; use a second rule to slow it down)',
  ],
  [
    'latencySeconds with an effect field: one rule, one effect',
    { service: 'EC2', operation: 'RunInstances', latencySeconds: 90, delaySeconds: 30 },
    'delaySeconds',
    'no effect with latencySeconds (a latency rule only slows the call down: use a second rule)',
  ],
  [
    'latencySeconds on an internal call of the account',
    { service: 'SSM', operation: 'UpdateInstanceInformation', latencySeconds: 5 },
    'latencySeconds',
    'no effect on SSM UpdateInstanceInformation (the account makes it internally, not through the API)',
  ],
  [
    'a rule that injects nothing',
    { service: 'EC2', operation: 'CreateVpc', target: 'network' },
    'error',
    'missing: the rule injects nothing (give error, latencySeconds, or delaySeconds, finalState, exitCode, stderr or status where they apply)',
  ],
];

describe('checkFaultRules: rules that can never match', () => {
  it.each(NEVER_MATCHES)('%s', (_case, rule, field, message) => {
    expect(check(rule)).toEqual([{ rule: 0, field, message }]);
  });

  it('names the rule by its index in the file', () => {
    const problems = check(
      { service: 'EC2', operation: 'CreateVpc', error: 'InternalError' },
      { service: 'EC2', operation: 'RunInstances', target: 'cass999', error: 'InternalError' },
    );
    expect(problems.map(({ rule, field }) => `${rule}.${field}`)).toEqual(['1.target']);
  });

  it('times 0 and probability 0 never fire', () => {
    expect(
      check({ service: 'EC2', operation: '*', error: 'RequestLimitExceeded', times: 0, probability: 0 }),
    ).toEqual([
      { rule: 0, field: 'times', message: '0 never fires (1 or more, or -1 for always)' },
      { rule: 0, field: 'probability', message: '0 never fires' },
    ]);
  });
});

describe('checkFaultRules: fields with no effect', () => {
  it.each(NO_EFFECT)('%s', (_case, rule, field, message) => {
    expect(check(rule)).toEqual([{ rule: 0, field, message }]);
  });

  it('one problem per field, every rule', () => {
    const problems = check(
      { service: 'EC2', operation: 'CreateNatGatewy', target: 'cass999', exitCode: 3, error: 'X' },
      { service: 'SSM', operation: 'GetCommandInvocation', document: 'capi-health-check', exitCode: 1 },
      { service: 'SSM', operation: 'SendCommand', target: 'cass002', exitCode: 100 },
    );
    expect(problems.map(({ rule, field }) => `${rule}.${field}`)).toEqual([
      '0.operation',
      '0.target',
      '0.exitCode',
      '1.document',
      '1.exitCode',
    ]);
  });
});

describe('checkFaultRules: rules that can match', () => {
  it('accepts node nicknames, Name tags, resource names, secrets, the AMI path and *', () => {
    expect(
      check(
        { service: 'EC2', operation: '*', error: 'RequestLimitExceeded', probability: 0.5, times: -1 },
        { service: 'EC2', operation: 'RunInstances', target: 'sample-cass004', finalState: 'failed' },
        { service: 'EC2', operation: 'CreateNatGateway', target: 'natgw', delaySeconds: 600 },
        { service: 'EC2', operation: 'CreateVpc', target: 'sample_network', error: 'VpcLimitExceeded' },
        { service: 'EC2', operation: 'RunInstances', target: 'bastion', delaySeconds: 30 },
        { service: 'IAM', operation: 'AddRoleToInstanceProfile', delaySeconds: 7200 },
        {
          service: 'IAM',
          operation: 'CreateRole',
          target: 'capideploy-sample-instance',
          error: 'AccessDenied',
        },
        {
          service: 'SSM',
          operation: 'PutParameter',
          target: '/capideploy/sample/rabbitmq/admin-password',
          error: 'X',
        },
        { service: 'SSM', operation: 'GetParameter', target: '/aws/service/canonical/ubuntu/x', error: 'X' },
        { service: 'SSM', operation: 'SendCommand', target: 'daemon004', status: 'TimedOut' },
        { service: 'SSM', operation: '*', document: 'capi-health-check', exitCode: 1 },
        { service: 'EC2', operation: 'RunInstances', latencySeconds: 90, times: -1 },
        { service: 'IAM', operation: '*', latencySeconds: 3, probability: 0.5 },
        { service: 'SSM', operation: 'SendCommand', target: 'cass001', latencySeconds: 0.5 },
      ),
    ).toEqual([]);
  });

  it('latencySeconds is a number above 0 and at most 900 (the longest Lambda timeout)', () => {
    for (const latencySeconds of [0, -1, 901, '5']) {
      expect(
        FaultRulesSchema.safeParse([{ service: 'EC2', operation: 'RunInstances', latencySeconds }]).success,
      ).toBe(false);
    }
    expect(rules({ service: 'EC2', operation: 'RunInstances', latencySeconds: 900 })[0].latencySeconds).toBe(
      900,
    );
  });

  it('without a spec, targets are not checked', () => {
    const input = rules({ service: 'EC2', operation: 'RunInstances', target: 'cass999', error: 'X' });
    expect(checkFaultRules(input, { operations: context.operations })).toEqual([]);
  });

  it('accepts every rule the README shows', () => {
    // Arrange: the JSON rules in the README's Fault injection example and Troubleshooting table.
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const example = /## Fault injection[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)?.[1] ?? '[]';
    const table = [...readme.matchAll(/`(\{"service":[^`]*\})`/g)].map((match) => JSON.parse(match[1]));
    // Act
    const problems = check(...JSON.parse(example), ...table);
    // Assert
    expect(table.length).toBeGreaterThan(5);
    expect(problems).toEqual([]);
  });

  it("knows the account's internal calls that error rules match (faults.take outside account.ts)", () => {
    // Arrange
    const sources = files(join(root, 'src/sim/services')).map((file) => readFileSync(file, 'utf8'));
    // Act
    const internal = sources.flatMap((text) =>
      [...text.matchAll(/faults\.take\(\s*\{\s*service: '(\w+)', operation: '(\w+)'/g)].map(
        (m) => `${m[1]} ${m[2]}`,
      ),
    );
    // Assert
    const declared = Object.entries(INTERNAL_OPERATIONS).flatMap(([service, operations]) =>
      operations.map((operation) => `${service} ${operation}`),
    );
    expect(internal.sort()).toEqual(declared.sort());
    expect(
      check({ service: 'SSM', operation: 'UpdateInstanceInformation', target: 'cass001', error: 'X' }),
    ).toEqual([]);
  });

  it('knows every operation that consumes an effect rule (the services call ctx.effect)', () => {
    // Arrange
    const dir = join(root, 'src/sim/services');
    // Act
    const sites = files(dir).flatMap((file) => {
      const service = file
        .slice(dir.length + 1)
        .split(/[/.]/)[0]
        .toUpperCase();
      return [...readFileSync(file, 'utf8').matchAll(/ctx\.effect\('(\w+)'/g)].map(
        (m) => `${service} ${m[1]}`,
      );
    });
    // Assert
    expect([...sites].sort()).toEqual([...EFFECT_OPERATIONS].sort());
  });
});
