import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { localLogsSource, showLogs } from '../../src/cli/logs-command.js';
import { logGroupName } from '../../src/core/cluster-logs.js';
import { parseCause } from '../../src/core/errors.js';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import { openLocalSession } from '../../src/local/local-mode.js';
import { renderHistory } from '../../src/report/history.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { logsState } from '../../src/sim/services/logs.js';
import { newStateDir, run, sampleSpec, specWith } from './harness.js';

/**
 * Issue 16 end to end in local mode: every Lambda step's JSON log lines with the correlation keys in the execution
 * record, the cluster's log group written by the simulated nodes and read by `capi-deploy logs`, a failed provisioning
 * step whose cause names the group, stream and command, and delete removing the group (or keeping it).
 */

const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;

/** What `capi-deploy logs` prints for these options, in local mode. */
async function logs(stateDir: string, deployment: string, options: Record<string, string | boolean> = {}) {
  const printed: string[] = [];
  await showLogs(deployment, options, await localLogsSource(stateDir, deployment), (text) =>
    printed.push(text),
  );
  return printed;
}

const groupOf = (stateDir: string, deployment: string) =>
  logsState(openLocalSession(stateDir).account).groups[logGroupName(deployment)];

describe('a local create', () => {
  let stateDir: string;
  let record: ExecutionRecord;
  beforeAll(async () => {
    stateDir = newStateDir();
    record = await run(stateDir, 'create-deployment');
  });

  it('records JSON log lines with the correlation keys for every Lambda step', () => {
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    const tasks = record.steps.filter((step) => step.type === 'Task');
    expect(tasks.length).toBeGreaterThan(20);
    for (const step of tasks) {
      const lines = (step.logs ?? []).map(parse).filter((line) => line.message !== undefined);
      expect(lines.length, step.name).toBeGreaterThan(0);
      for (const line of lines) {
        expect(line, step.name).toMatchObject({
          service: 'capideploy',
          deployment: 'sample',
          execution: record.execution,
          state: step.name,
          function_request_id: expect.any(String),
        });
        // Virtual time: within the step.
        const at = Date.parse(String(line.timestamp));
        expect(at).toBeGreaterThanOrEqual(step.start);
        expect(at).toBeLessThanOrEqual(step.end!);
      }
    }
    const launched = tasks.flatMap((step) => step.logs ?? []).map(parse);
    expect(
      launched.filter((line) => line.message === 'instance launched').map((line) => line.node),
    ).toContain('cass001');
    // EMF metrics in namespace CapiDeploy.
    const emf = launched.filter((line) => line._aws);
    expect(JSON.stringify(emf)).toContain('"Namespace":"CapiDeploy"');
    expect(JSON.stringify(emf)).toContain('InstancesLaunched');
    expect(JSON.stringify(emf)).toContain('CommandsSent');
  });

  it('shows the lines under their step in history --logs and the HTML report', () => {
    // Act
    const text = renderHistory(record, { logs: true }).join('\n');
    const html = renderHtmlReport(record, { resources: [] });

    // Assess
    expect(text).toMatch(/Create VPC\n.*INFO\s+step started {2}action ensure/);
    expect(renderHistory(record).join('\n')).not.toContain('step started');
    expect(html).toContain('class="row-logs');
    expect(html).toContain('step succeeded');
  });

  it('creates the log group with the spec retention, and `logs` prints a node source', async () => {
    // Assess
    expect(groupOf(stateDir, 'sample')).toMatchObject({
      retentionInDays: 30,
      tags: { DeploymentName: 'sample', DeploymentOperator: 'capideploy' },
    });
    const lines = await logs(stateDir, 'sample', { node: 'cass001', source: 'cassandra' });
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^\S+Z cass001\s+cassandra\s+/);
    expect(lines.join('\n')).toContain('Starting Cassandra on cass001');
    expect(await logs(stateDir, 'sample', { source: 'rabbitmq' })).toEqual([
      expect.stringContaining('Starting RabbitMQ'),
      expect.stringContaining('Server startup complete'),
    ]);
    const json = JSON.parse((await logs(stateDir, 'sample', { grep: 'Startup complete', json: true }))[0]);
    expect(json.events.map((event: { node: string }) => event.node)).toEqual([
      'cass001',
      'cass002',
      'cass003',
      'cass004',
    ]);
  });

  it('deletes the log group with the deployment', async () => {
    // Act
    const deleted = await run(stateDir, 'delete-deployment');

    // Assess
    expect(deleted.status).toBe('SUCCEEDED');
    expect(groupOf(stateDir, 'sample')).toBeUndefined();
    await expect(logs(stateDir, 'sample')).rejects.toThrow('no log group /capideploy/sample');
  });
});

describe('a Cassandra configure failure on cass002', () => {
  it('is in the logs, and the cause names the group, the streams and the logs command', async () => {
    // Prepare
    const stateDir = newStateDir();

    // Act
    const record = await run(stateDir, 'create-deployment', sampleSpec, [
      {
        service: 'SSM',
        operation: 'SendCommand',
        target: 'cass002',
        document: 'capi-cassandra-configure',
        exitCode: 1,
        stderr: 'cassandra.yaml: seed_provider unreachable (injected)',
        times: -1,
      },
    ]);

    // Assess
    expect(record.status).toBe('FAILED');
    const cause = parseCause(record.failure!.cause)!;
    expect(cause.details).toMatchObject({
      node: 'cass002',
      logs: {
        group: '/capideploy/sample',
        streams: ['cass002/ssm', 'cass002/cassandra'],
        command: 'capi-deploy logs sample --node cass002 --source cassandra',
      },
    });
    expect(cause.hint).toContain('capi-deploy logs sample --node cass002 --source cassandra');
    const lines = await logs(stateDir, 'sample', { node: 'cass002', source: 'cassandra' });
    expect(lines.join('\n')).toContain('seed_provider unreachable (injected)');
    // The failed step's own log names them too.
    const failed = record.steps.filter((step) => step.name === record.failure!.state);
    const failedLines = failed.flatMap((step) => step.logs ?? []).map(parse);
    expect(failedLines.find((line) => line.message === 'command failed')).toMatchObject({
      node: 'cass002',
      logGroup: '/capideploy/sample',
    });
  });
});

describe('keepLogs', () => {
  it('leaves the log group, with the spec retention, after delete', async () => {
    // Prepare
    const stateDir = newStateDir();
    const spec = specWith({ keepLogs: true, logRetentionDays: 7 });
    await run(stateDir, 'create-deployment', spec);

    // Act
    const deleted = await run(stateDir, 'delete-deployment', spec);

    // Assess
    expect(deleted.status).toBe('SUCCEEDED');
    expect(groupOf(stateDir, 'sample')).toMatchObject({ retentionInDays: 7 });
    expect(Object.keys(logsState(openLocalSession(stateDir).account).streams).length).toBeGreaterThan(0);
    expect((await logs(stateDir, 'sample', { node: 'cass003', source: 'cassandra' })).length).toBe(3);
    // The account on disk says the same.
    const stored = JSON.parse(readFileSync(join(stateDir, 'account.json'), 'utf8'));
    expect(stored.services.CloudWatchLogs.groups['/capideploy/sample'].retentionInDays).toBe(7);
  });
});

describe('a Lambda timeout', () => {
  it("leaves the step's logs saying what the function waited for, then the runtime's timeout line", async () => {
    // Act: every RunInstances takes 90 s, past the Instances function's 60 s.
    const record = await run(newStateDir(), 'create-deployment', sampleSpec, [
      { service: 'EC2', operation: 'RunInstances', latencySeconds: 90, times: -1 },
    ]);

    // Assess
    const launch = record.steps.find((step) => step.name === 'Launch instances')!;
    expect(launch.error).toBe('Sandbox.Timedout');
    const lines = (launch.logs ?? []).map(parse);
    const warning = lines.find((line) => line.message === 'function is about to time out');
    expect(warning).toMatchObject({ level: 'ERROR', state: 'Launch instances', deployment: 'sample' });
    expect(JSON.stringify(warning?.waitingFor)).toContain('EC2:RunInstances');
    expect(lines.some((line) => line.message === 'Task timed out after 60.00 seconds')).toBe(true);
    expect(renderHistory(record, { logs: true }).join('\n')).toContain('function is about to time out');
  }, 60_000);
});
