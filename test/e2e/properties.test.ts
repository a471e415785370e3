import { beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import type { DeploymentSpec } from '../../src/core/spec/schema.js';
import type { SimulatedAccount } from '../../src/sim/account.js';
import type { FaultRule } from '../../src/sim/faults.js';
import {
  forkStateDir,
  inventory,
  newStateDir,
  resourceCounts,
  run,
  sampleSpec,
  specWith,
} from './harness.js';

/**
 * The lifecycle properties of issue 6, for every step of create that changes something:
 *  - fail the create terminally at that step, then delete: nothing tagged is left, and the delete hit no error
 *    but the handled, retried ones;
 *  - fail at that step, remove the fault, create again: the same resources as a clean run, no duplicates.
 * Each step is reached through the AWS operation it performs (the first call that changes the account), with an
 * error AWS does not retry, or through an asynchronous failure (NAT gateway failed, instance failed, a command
 * failing on a node).
 */

const DENIED: Record<string, string> = {
  EC2: 'UnauthorizedOperation',
  IAM: 'AccessDenied',
  SSM: 'AccessDeniedException',
  CloudWatchLogs: 'AccessDeniedException',
};

/** Every mutating operation create performs, in workflow order. A clean run must call no other (checked below). */
const MUTATING_OPERATIONS = [
  'SSM:PutParameter',
  'EC2:AllocateAddress',
  'EC2:CreateVpc',
  'EC2:CreateSubnet',
  'EC2:CreateSecurityGroup',
  'EC2:AuthorizeSecurityGroupIngress',
  'EC2:CreateInternetGateway',
  'EC2:AttachInternetGateway',
  'EC2:CreateRouteTable',
  'EC2:CreateRoute',
  'EC2:AssociateRouteTable',
  'IAM:CreateRole',
  'IAM:PutRolePolicy',
  'IAM:AttachRolePolicy',
  'IAM:CreateInstanceProfile',
  'IAM:AddRoleToInstanceProfile',
  'CloudWatchLogs:CreateLogGroup',
  'CloudWatchLogs:PutRetentionPolicy',
  'EC2:CreateNatGateway',
  'EC2:RunInstances',
  'EC2:AssociateAddress',
  'EC2:CreateVolume',
  'EC2:AttachVolume',
  'SSM:SendCommand',
] as const;

const ASYNC_FAILURES: Record<string, Partial<FaultRule>> = {
  'NAT gateway ends failed': { service: 'EC2', operation: 'CreateNatGateway', finalState: 'failed' },
  'instance cass002 fails to start': {
    service: 'EC2',
    operation: 'RunInstances',
    target: 'cass002',
    finalState: 'failed',
  },
  'Cassandra install fails on cass002': {
    service: 'SSM',
    operation: 'SendCommand',
    target: 'cass002',
    document: 'capi-cassandra-install',
    exitCode: 100,
    stderr: 'E: Could not get lock /var/lib/dpkg/lock-frontend',
  },
};

const isMutating = (operation: string) =>
  /:(Create|Allocate|Run|Attach|Associate|Authorize|Put|Add|Send)/.test(operation) &&
  !operation.endsWith(':CreateTags');

const failures: [string, Partial<FaultRule>][] = [
  ...MUTATING_OPERATIONS.map((key): [string, Partial<FaultRule>] => {
    const [service, operation] = key.split(':') as [FaultRule['service'], string];
    return [key, { service, operation, error: DENIED[service], times: -1 }];
  }),
  ...Object.entries(ASYNC_FAILURES),
];

/** Steps of a delete that ended in a caught or unretried error: a delete must have none. */
const unhandledDeleteErrors = (record: ExecutionRecord) =>
  record.steps.filter((step) => step.outcome === 'failed' || step.outcome === 'caught');

function lifecycleProperties(label: string, spec: DeploymentSpec) {
  describe(`lifecycle properties: ${label}`, () => {
    let cleanCounts: Record<string, number>;

    beforeAll(async () => {
      const stateDir = newStateDir();
      const clean = await run(stateDir, 'create-deployment', spec);
      expect(clean.failure).toBeNull();
      cleanCounts = await resourceCounts(stateDir, spec);
      const called = Object.keys(clean.metrics.apiCallsByOperation).filter(isMutating);
      expect(
        called.filter((operation) => !(MUTATING_OPERATIONS as readonly string[]).includes(operation)),
      ).toEqual([]);
    });

    it.each(failures)('fail at %s: delete leaves nothing, resume equals a clean run', async (_, rule) => {
      const stateDir = newStateDir();
      const failed = await run(stateDir, 'create-deployment', spec, [rule]);
      expect(failed.status).toBe('FAILED');
      const resumeDir = forkStateDir(stateDir);

      const removed = await run(stateDir, 'delete-deployment', spec);
      expect(removed.failure).toBeNull();
      expect(unhandledDeleteErrors(removed)).toEqual([]);
      expect(await inventory(stateDir, spec)).toEqual([]);

      const resumed = await run(resumeDir, 'create-deployment', spec);
      expect(resumed.failure).toBeNull();
      expect(await resourceCounts(resumeDir, spec)).toEqual(cleanCounts);
    });

    it('converges under random EC2 throttling (p = 0.3) in create and delete', async () => {
      const stateDir = newStateDir();
      const throttling: Partial<FaultRule>[] = [
        { service: 'EC2', operation: '*', error: 'RequestLimitExceeded', probability: 0.3, times: -1 },
      ];
      let account: SimulatedAccount | undefined;
      const created = await run(stateDir, 'create-deployment', spec, throttling, 7, (opened) => {
        account = opened;
      });
      expect(created.failure).toBeNull();
      // Proof that the faults fired: each throttled call was retried by the SDK or the ASL.
      expect(account?.faults.fired.length).toBeGreaterThan(20);
      expect(await resourceCounts(stateDir, spec)).toEqual(cleanCounts);
      const removed = await run(stateDir, 'delete-deployment', spec, throttling, 11);
      expect(removed.failure).toBeNull();
      expect(await inventory(stateDir, spec)).toEqual([]);
    });
  });
}

lifecycleProperties('sample (4 Cassandra nodes, 4 daemons)', sampleSpec);
lifecycleProperties(
  '16 Cassandra nodes, 16 daemons',
  specWith({ name: 'sixteen', cassandraNodes: 16, daemons: 16 }),
);
