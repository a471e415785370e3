import { describe, expect, it } from 'vitest';
import type { FunctionName } from '../../src/core/catalogue.js';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import { FUNCTION_ACTIONS, policyDocumentOf, renderInstanceBoundary } from '../../src/core/permissions.js';
import { openLocalSession, runLocalExecution } from '../../src/local/local-mode.js';
import { renderHistory } from '../../src/report/history.js';
import { ensureInstanceBoundary } from '../../src/sim/services/iam.js';
import { forkStateDir, newStateDir, run, sampleSpec } from './harness.js';

/**
 * Local mode authorizes every call against the statements the stack attaches (src/core/permissions.ts). Taking one
 * grant out of one function's role must fail the step that needs it, naming the action: proof that each grant is
 * needed and that the evaluation really gates the workflow.
 */
async function runWithout(
  stateDir: string,
  machine: 'create-deployment' | 'delete-deployment',
  fn: FunctionName,
  action: string,
): Promise<ExecutionRecord> {
  const session = openLocalSession(stateDir, { writable: true, withoutGrants: [{ fn, action }] });
  return runLocalExecution(session, machine, sampleSpec);
}

function expectDenied(record: ExecutionRecord, step: RegExp, action: string): void {
  expect(record.status).toBe('FAILED');
  const text = renderHistory(record).join('\n');
  expect(/FAILED at step: (.*)/.exec(text)?.[1]).toMatch(step);
  expect(/^\s+error:\s+(.*)$/m.exec(text)?.[1]).toBe('AccessDenied');
  expect(text).toContain(`is not authorized to perform: ${action} on resource:`);
  expect(/^\s+hint:\s+(.*)$/m.exec(text)?.[1]).toContain(`lacks ${action} on`);
  expect(text).toContain('src/core/permissions.ts');
}

/** One grant per step of create: the function's own calls and those AWS authorizes with them. */
const CREATE_GRANTS: [FunctionName, string, RegExp][] = [
  ['Preflight', 'ssm:GetParameters', /Check AMI/],
  ['Preflight', 'ssm:DescribeDocument', /Check AMI/],
  ['ElasticIps', 'ec2:AllocateAddress', /Allocate elastic IPs/],
  ['Vpc', 'ec2:CreateTags', /Create VPC/],
  ['InstanceRole', 'iam:GetRole', /Create instance role/],
  ['InstanceRole', 'iam:CreateRole', /Create instance role/],
  ['InstanceRole', 'iam:PassRole', /Create instance role/],
  ['Secrets', 'ssm:AddTagsToResource', /Generate deployment secrets/],
  ['Subnets', 'ec2:CreateSubnet', /Create subnets/],
  ['SecurityGroups', 'ec2:AuthorizeSecurityGroupIngress', /Create security groups/],
  ['InternetGateway', 'ec2:AttachInternetGateway', /internet gateway/],
  ['RouteTables', 'ec2:CreateRoute', /Route public subnet/],
  ['NatGateway', 'ec2:CreateNatGateway', /Create NAT gateway/],
  ['Instances', 'iam:PassRole', /Launch instances/],
  ['BastionAddress', 'ec2:AssociateAddress', /public address/],
  ['Volumes', 'ec2:AttachVolume', /log volume/],
  ['SsmReadiness', 'ssm:DescribeInstanceInformation', /SSM agents/],
  ['Provisioning', 'ssm:SendCommand', /Install software/],
  ['HealthCheck', 'ssm:GetCommandInvocation', /Cassandra nodes UN/],
];

/**
 * One grant per teardown step, on a deployment created with every grant. A teardown step's failure is caught (the
 * others still run) and fails the delete at its end: the history names the action wherever it failed.
 */
const DELETE_GRANTS: [FunctionName, string][] = [
  ['Instances', 'ec2:TerminateInstances'],
  ['InstanceRole', 'iam:DeleteRole'],
  ['Secrets', 'ssm:DeleteParameters'],
  ['Inventory', 'tag:GetResources'],
];

describe('IAM evaluation in local mode: every grant is needed', () => {
  it('creates and deletes with every grant (evaluation on by default)', async () => {
    const stateDir = newStateDir();
    const session = openLocalSession(stateDir, { writable: true });
    expect(session.account.iamEvaluation).toBe(true);
    expect((await runLocalExecution(session, 'create-deployment', sampleSpec)).status).toBe('SUCCEEDED');
    expect((await run(stateDir, 'delete-deployment')).status).toBe('SUCCEEDED');
  });

  it('the grants under test are grants of those functions', () => {
    for (const [fn, action] of [...CREATE_GRANTS, ...DELETE_GRANTS]) {
      const implied = ['ec2:CreateTags', 'iam:PassRole', 'ssm:AddTagsToResource'];
      expect(FUNCTION_ACTIONS[fn].includes(action) || implied.includes(action), `${fn} ${action}`).toBe(true);
    }
  });

  it.each(CREATE_GRANTS)('create without %s %s fails at its step, naming it', async (fn, action, step) => {
    expectDenied(await runWithout(newStateDir(), 'create-deployment', fn, action), step, action);
  });

  describe('delete', () => {
    let created: string;
    it('a deployment to delete', async () => {
      created = newStateDir();
      expect((await run(created, 'create-deployment')).status).toBe('SUCCEEDED');
    });
    it.each(DELETE_GRANTS)('delete without %s %s fails, naming it', async (fn, action) => {
      const record = await runWithout(forkStateDir(created), 'delete-deployment', fn, action);
      expect(record.status).toBe('FAILED');
      expect(renderHistory(record).join('\n')).toContain(
        `is not authorized to perform: ${action} on resource:`,
      );
    });
  });

  it('--no-iam: with evaluation off the same missing grant goes unnoticed', async () => {
    const session = openLocalSession(newStateDir(), {
      writable: true,
      iam: false,
      withoutGrants: [{ fn: 'ElasticIps', action: 'ec2:AllocateAddress' }],
    });
    expect(session.account.iamEvaluation).toBe(false);
    expect((await runLocalExecution(session, 'create-deployment', sampleSpec)).status).toBe('SUCCEEDED');
  });

  it('instances read their secrets with their own role, within the boundary: a boundary without them fails the node', async () => {
    const capped = renderInstanceBoundary({ partition: 'aws', account: '123456789012' }).filter(
      (statement) => statement.sid !== 'ReadDeploymentSecrets',
    );
    const record = await run(newStateDir(), 'create-deployment', sampleSpec, [], undefined, (account) =>
      ensureInstanceBoundary(account, { document: JSON.stringify(policyDocumentOf(capped)) }),
    );
    expect(record.status).toBe('FAILED');
    const text = renderHistory(record).join('\n');
    expect(text).toMatch(/FAILED at step: .*(Cassandra|configuration)/);
    expect(text).toContain('assumed-role/capideploy-sample-instance/i-');
    expect(text).toMatch(/because no permissions boundary allows the ssm:GetParameter action/);
  });
});
