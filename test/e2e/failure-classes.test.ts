import { describe, expect, it } from 'vitest';
import { parseCause } from '../../src/core/errors.js';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import { renderHistory } from '../../src/report/history.js';
import type { SsmState } from '../../src/sim/services/ssm.js';
import { registerAssumableRole } from '../../src/sim/services/sts.js';
import { newStateDir, run, sampleSpec, specWith } from './harness.js';

/**
 * Every failure class of the README's troubleshooting table, provoked with the fault rule an operator could write
 * with --faults. The rendered history must name the resource, its id (where one exists), the AWS error code and
 * a hint: that is what the operator sees in `capi-deploy history` and in the console's step details.
 */

interface Expected {
  step: RegExp;
  error: RegExp;
  resource: RegExp;
  /** The AWS error code (or SSM command status), when AWS gave one. */
  awsError?: string;
  id?: RegExp;
  hint: RegExp;
}

function assertRenderedFailure(record: ExecutionRecord, expected: Expected): void {
  expect(record.status).toBe('FAILED');
  const text = renderHistory(record).join('\n');
  const field = (name: string) => new RegExp(`^\\s+${name}:\\s+(.*)$`, 'm').exec(text)?.[1] ?? '';
  expect(text).toMatch(/FAILED at step: /);
  expect(/FAILED at step: (.*)/.exec(text)?.[1]).toMatch(expected.step);
  expect(field('error')).toMatch(expected.error);
  expect(field('resource')).toMatch(expected.resource);
  if (expected.awsError) expect(field('AWS code')).toBe(expected.awsError);
  if (expected.id) expect(field('id')).toMatch(expected.id);
  expect(field('hint')).toMatch(expected.hint);
}

describe('failure classes, as the operator sees them', () => {
  it('quota: RunInstances refused for the vCPU limit', async () => {
    const record = await run(newStateDir(), 'create-deployment', sampleSpec, [
      { service: 'EC2', operation: 'RunInstances', error: 'VcpuLimitExceeded', times: -1 },
    ]);
    assertRenderedFailure(record, {
      step: /Launch instances/,
      error: /ProvisioningFailed/,
      resource: /sample-\w+/,
      awsError: 'VcpuLimitExceeded',
      hint: /vCPU quota/,
    });
  });

  it('capacity: no capacity for one node, after the capacity retries', async () => {
    const record = await run(newStateDir(), 'create-deployment', sampleSpec, [
      {
        service: 'EC2',
        operation: 'RunInstances',
        target: 'cass002',
        error: 'InsufficientInstanceCapacity',
        times: -1,
      },
    ]);
    assertRenderedFailure(record, {
      step: /Launch instances/,
      error: /InsufficientCapacity/,
      resource: /cass002/,
      awsError: 'InsufficientInstanceCapacity',
      hint: /another availabilityZone or flavor/,
    });
  });

  it('profile propagation: the instance profile never reaches EC2 in time', async () => {
    const record = await run(newStateDir(), 'create-deployment', sampleSpec, [
      { service: 'IAM', operation: 'AddRoleToInstanceProfile', delaySeconds: 7200 },
    ]);
    assertRenderedFailure(record, {
      step: /Launch instances/,
      error: /InstanceProfileNotReady/,
      resource: /sample-\w+/,
      awsError: 'InvalidParameterValue',
      hint: /instance profile/i,
    });
  });

  it('no NAT route: the NAT gateway ends failed', async () => {
    const record = await run(newStateDir(), 'create-deployment', sampleSpec, [
      { service: 'EC2', operation: 'CreateNatGateway', finalState: 'failed' },
    ]);
    assertRenderedFailure(record, {
      step: /NAT gateway/,
      error: /ProvisioningFailed/,
      resource: /NAT gateway sample_natgw/,
      id: /^nat-/,
      hint: /NAT/,
    });
  });

  it('SSM agent offline: one node never registers', async () => {
    const record = await run(newStateDir(), 'create-deployment', sampleSpec, [
      {
        service: 'SSM',
        operation: 'UpdateInstanceInformation',
        target: 'daemon002',
        error: 'AccessDeniedException',
        times: -1,
      },
    ]);
    assertRenderedFailure(record, {
      step: /SSM agents/,
      error: /WaitTimedOut/,
      resource: /daemon002/,
      id: /i-[0-9a-f]+/,
      hint: /NAT|AmazonSSMManagedInstanceCore/,
    });
  });

  it('apt failure: the Cassandra install fails on cass002', async () => {
    const record = await run(newStateDir(), 'create-deployment', sampleSpec, [
      {
        service: 'SSM',
        operation: 'SendCommand',
        target: 'cass002',
        document: 'capi-cassandra-install',
        exitCode: 100,
        stderr: 'E: Unable to locate package cassandra',
      },
    ]);
    assertRenderedFailure(record, {
      step: /installs/i,
      error: /CommandFailed/,
      resource: /cass002/,
      awsError: 'Failed',
      id: /i-[0-9a-f]+/,
      hint: /.+/,
    });
    expect(renderHistory(record).join('\n')).toContain('E: Unable to locate package cassandra');
  });

  it('Cassandra node not UN: nodetool keeps reporting a node down', async () => {
    const record = await run(newStateDir(), 'create-deployment', sampleSpec, [
      {
        service: 'SSM',
        operation: 'SendCommand',
        target: 'cass001',
        document: 'capi-health-check',
        exitCode: 1,
        stderr: '3 of 4 Cassandra nodes are UN',
        times: -1,
      },
    ]);
    assertRenderedFailure(record, {
      step: /Cassandra/,
      error: /HealthCheckFailed|WaitTimedOut/,
      resource: /[Cc]assandra/,
      hint: /nodetool|Cassandra/,
    });
  });

  it('throttling: CreateVpc throttled on every attempt', async () => {
    const record = await run(newStateDir(), 'create-deployment', sampleSpec, [
      { service: 'EC2', operation: 'CreateVpc', error: 'RequestLimitExceeded', times: -1 },
    ]);
    assertRenderedFailure(record, {
      step: /Create VPC/,
      error: /Throttled/,
      resource: /VPC sample_network/,
      awsError: 'RequestLimitExceeded',
      hint: /throttled/,
    });
  });

  it('DependencyViolation on delete: a security group that cannot go', async () => {
    const stateDir = newStateDir();
    expect((await run(stateDir, 'create-deployment')).status).toBe('SUCCEEDED');
    const record = await run(stateDir, 'delete-deployment', sampleSpec, [
      { service: 'EC2', operation: 'DeleteSecurityGroup', error: 'DependencyViolation', times: -1 },
    ]);
    assertRenderedFailure(record, {
      step: /List what is left|Resources left/,
      error: /ResourcesLeft/,
      resource: /sample/,
      hint: /.+/,
    });
    const text = renderHistory(record).join('\n');
    expect(text).toMatch(/security-group/);
    expect(text).toMatch(/sg-[0-9a-f]+/);
    expect(text).toMatch(/DependencyViolation/);
    // Issue 14: the cause names each security group left, its id, and the error with AWS's code that kept it
    const leftovers = parseCause(record.failure?.cause)?.details?.leftovers as {
      type: string;
      id: string;
      why: string;
    }[];
    const groups = leftovers.filter((item) => item.type === 'security-group');
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) {
      expect(group.id).toMatch(/^sg-[0-9a-f]+$/);
      expect(group.why).toMatch(/^DependencyViolation \(DependencyViolation\)/);
    }
  });

  it('wrong external id: the cross-account role cannot be assumed', async () => {
    const roleArn = 'arn:aws:iam::210987654321:role/capideploy-operator';
    // The registry holds another external id than the one the customer's role trusts.
    const spec = specWith({ customer: 'acme' });
    const record = await run(newStateDir(), 'create-deployment', spec, [], undefined, (account) => {
      registerAssumableRole(account, roleArn, {
        trustedAccount: account.accountId,
        externalId: 'the-agreed-external-id',
      });
      account.stateOf<SsmState>('SSM').parameters['/capideploy/customers/acme'] = {
        Name: '/capideploy/customers/acme',
        Type: 'SecureString',
        Value: JSON.stringify({ roleArn, externalId: 'not-the-agreed-id' }),
        KeyId: 'alias/aws/ssm',
        Version: 1,
        LastModifiedDate: 0,
        LastModifiedUser: 'arn:aws:iam::123456789012:user/capideploy-operator',
        Tier: 'Standard',
        DataType: 'text',
        Tags: [],
      };
    });
    assertRenderedFailure(record, {
      step: /.+/,
      error: /AccessDenied/,
      resource: /capideploy-operator/,
      awsError: 'AccessDenied',
      hint: /external id/i,
    });
    expect(JSON.stringify(record)).not.toContain('not-the-agreed-id');
  });

  it('unknown customer: refused at preflight, nothing created', async () => {
    const record = await run(newStateDir(), 'create-deployment', specWith({ customer: 'nobody' }));
    assertRenderedFailure(record, {
      step: /Check AMI, instance types and quota/,
      error: /UnknownCustomer/,
      resource: /customer nobody/,
      awsError: 'ParameterNotFound',
      hint: /capi-deploy customers add/,
    });
    expect(record.metrics.apiCallsByOperation).not.toHaveProperty(['EC2:CreateVpc']);
  });
});
