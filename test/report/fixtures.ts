import type { ExecutionRecord, StepRecord } from '../../src/core/execution-record.js';

/** Hand-built execution records shaped like what the local engine records for create-deployment. */

export const T0 = Date.UTC(2026, 10, 24, 1, 2, 3);
const at = (seconds: number) => T0 + seconds * 1000;

type Extra = Partial<Pick<StepRecord, 'retries' | 'outcome' | 'error' | 'cause' | 'parent' | 'index'>>;

export function step(
  name: string,
  type: string,
  from: number,
  to: number | null,
  extra: Extra = {},
): StepRecord {
  return {
    name,
    type,
    start: at(from),
    end: to === null ? null : at(to),
    retries: 0,
    outcome: to === null ? 'running' : 'succeeded',
    ...extra,
  };
}

/** Check → Choice → Wait visits of a poll loop: `polls` checks every `every` seconds from `from`. */
export function pollLoop(
  names: { check: string; choice: string; wait: string },
  from: number,
  polls: number,
  every: number,
  parent?: string,
): StepRecord[] {
  const steps: StepRecord[] = [];
  const inParent = parent ? { parent } : {};
  for (let i = 0; i < polls; i += 1) {
    const t = from + i * every;
    steps.push(step(names.wait, 'Wait', t, t + every - 1, inParent));
    steps.push(step(names.check, 'Task', t + every - 1, t + every, inParent));
    steps.push(step(names.choice, 'Choice', t + every, t + every, inParent));
  }
  return steps;
}

export const commandFailedCause = {
  resource: 'node cass002 (capi-cassandra-install)',
  id: 'i-0cass002',
  awsError: null,
  message: 'capi-cassandra-install Failed on cass002 with exit code 2: E: Unable to locate package cassandra',
  hint: 'Read the stderr tail (full output in the command output bucket), fix the cause, then re-run create: nodes that succeeded are skipped.',
  details: {
    node: 'cass002',
    instanceId: 'i-0cass002',
    commandId: 'cmd-0123',
    document: 'capi-cassandra-install',
    status: 'Failed',
    exitCode: 2,
    failedNodes: ['cass002', 'cass004'],
  },
};

/** A failure whose every text field tries to inject markup. */
export const hostileCause = {
  resource: 'node <b>cass002</b>',
  id: 'i-0"onmouseover="alert(1)',
  awsError: "Code'><img src=x onerror=alert(2)>",
  message: 'exit 2: </dd><script>alert(document.cookie)</script>',
  hint: 'check & fix <em>now</em>',
  details: { failedNodes: ['<i>cass002</i>'], stderrTail: 'line 1\n<script>alert(3)</script>' },
};

const P1 = 'Create network and instance role';
const P2 = 'Launch fleet while NAT gateway comes up';

/**
 * A create that fails at "Check installs" (caught, then "Deployment failed"): a NAT gateway poll loop of 24 checks
 * over 120 s interleaved with the fleet branch, a retried preflight and a retried launch.
 */
export function failedCreate(cause: object = commandFailedCause): ExecutionRecord {
  const causeText = JSON.stringify(cause);
  const steps: StepRecord[] = [
    step('Validate the deployment spec', 'Task', 0, 1),
    step('Check AMI, instance types and quota', 'Task', 1, 4, { retries: 1 }),
    step(P1, 'Parallel', 4, 30),
    step('Allocate elastic IPs', 'Task', 4, 5, { parent: P1 }),
    step('Create VPC', 'Task', 4, 6, { parent: P1 }),
    step('Create instance role and profile', 'Task', 4, 8, { parent: P1 }),
    step('Is the VPC available?', 'Choice', 6, 6, { parent: P1 }),
    ...pollLoop(
      { check: 'Check VPC state', choice: 'Is the VPC available?', wait: 'Wait for VPC' },
      6,
      2,
      5,
      P1,
    ),
    step('Create subnets', 'Task', 16, 18, { parent: P1 }),
    step('Create security groups', 'Task', 18, 22, { parent: P1 }),
    step('Create and attach internet gateway', 'Task', 22, 26, { parent: P1 }),
    step('Route public subnet to internet gateway', 'Task', 26, 30, { parent: P1 }),
    step(P2, 'Parallel', 30, 160),
    step('Create NAT gateway', 'Task', 30, 31, { parent: P2 }),
    step('Launch instances', 'Task', 30, 40, { parent: P2, retries: 2 }),
    ...pollLoop(
      {
        check: 'Check NAT gateway state',
        choice: 'Is the NAT gateway available?',
        wait: 'Wait for NAT gateway',
      },
      31,
      24,
      5,
      P2,
    ),
    ...pollLoop(
      { check: 'Check instances state', choice: 'Are all instances running?', wait: 'Wait for instances' },
      40,
      3,
      10,
      P2,
    ),
    step('Give the bastion its public address', 'Task', 70, 72, { parent: P2 }),
    step('Attach bastion log volume', 'Task', 72, 74, { parent: P2 }),
    step('Is the log volume attached?', 'Choice', 74, 74, { parent: P2 }),
    step('Fleet launched', 'Pass', 74, 74, { parent: P2 }),
    step('Route private subnet to NAT gateway', 'Task', 151, 160, { parent: P2 }),
    step('Check SSM agents', 'Task', 160, 161),
    step('Are all SSM agents online?', 'Choice', 161, 161),
    ...pollLoop(
      { check: 'Check SSM agents', choice: 'Are all SSM agents online?', wait: 'Wait for SSM agents' },
      161,
      2,
      10,
    ),
    step('Install software on every node', 'Task', 181, 183),
    step('Wait for installs', 'Wait', 183, 213),
    step('Check installs', 'Task', 213, 215, { outcome: 'caught', error: 'CommandFailed', cause: causeText }),
    step('Create failed', 'Choice', 215, 215),
    step('Deployment failed', 'Fail', 215, 215, {
      outcome: 'failed',
      error: 'CommandFailed',
      cause: causeText,
    }),
  ].sort((a, b) => a.start - b.start);
  return {
    execution: 'create-sample-20261124T010203Z',
    machine: 'create-deployment',
    deployment: 'sample',
    mode: 'local',
    status: 'FAILED',
    startDate: T0,
    stopDate: at(215),
    output: null,
    failure: { state: 'Deployment failed', error: 'CommandFailed', cause: causeText },
    steps,
    metrics: {
      historyEvents: 640,
      stateTransitions: 190,
      virtualSeconds: 215,
      apiCalls: 321,
      apiCallsByOperation: { 'EC2:DescribeNatGateways': 24 },
    },
  };
}

/** A create still running: in the NAT loop and the instances loop. */
export function runningCreate(seconds: number): ExecutionRecord {
  const record = failedCreate();
  const steps = record.steps
    .filter((s) => s.start < at(seconds))
    .map((s) =>
      s.end !== null && s.end > at(seconds) ? { ...s, end: null, outcome: 'running' as const } : s,
    );
  return { ...record, status: 'RUNNING', stopDate: null, failure: null, steps };
}

/** The same run, finished successfully. */
export function succeededCreate(): ExecutionRecord {
  const record = failedCreate();
  const steps = record.steps
    .filter((s) => !['Create failed', 'Deployment failed'].includes(s.name))
    .map((s) => (s.name === 'Check installs' ? step('Check installs', 'Task', 213, 215) : s));
  return {
    ...record,
    status: 'SUCCEEDED',
    failure: null,
    steps: [
      ...steps,
      step('Judge cluster health', 'Task', 215, 217),
      step('Deployment ready', 'Pass', 217, 217),
    ],
    stopDate: at(217),
    output: {
      deployment: 'sample',
      health: [
        { check: 'cassandra', healthy: true, summary: '4/4 Cassandra nodes UN', unhealthy: [] },
        { check: 'webapi', healthy: true, summary: 'webapi answers HTTP 200', unhealthy: [] },
      ],
    },
  };
}
