import { logGroupName, logStreamName, sourceOfDocument } from '../../../core/cluster-logs.js';
import { tagValue } from '../../../core/tags.js';
import { writeNodeLog } from '../logs.js';
import type { Ctx, InvocationResult, SsmCommand, SsmInvocation } from './state.js';
import { ec2Of } from './state.js';

/**
 * What a simulated node's CloudWatch agent ships when a provisioning command ends on it (hooked where an
 * invocation's result is computed, see invocations.ts `settle`): the command's output (source `ssm`), the start lines
 * of the software the document configured (Cassandra's system and debug logs, RabbitMQ, capidaemon, webapi, nginx,
 * Prometheus) on success, and the stderr of a failed run (a fault rule's) in that software's log as well, where a
 * real failure leaves its evidence. Into `/capideploy/<deployment>` only when that group exists.
 */

const stamp = (ms: number) => new Date(ms).toISOString();
/** Cassandra's logback layout: `INFO  [main] 2026-11-29 19:23:47,607 StorageService.java:...`. */
const cassandraTime = (ms: number) => stamp(ms).replace('T', ' ').replace('Z', '').replace('.', ',');

function softwareLines(document: string, node: string, ip: string, at: number): Record<string, string[]> {
  if (document === 'capi-cassandra-configure') {
    return {
      cassandra: [
        `INFO  [main] ${cassandraTime(at)} CassandraDaemon.java:629 - Starting Cassandra on ${node} (${ip})`,
        `INFO  [main] ${cassandraTime(at + 1)} StorageService.java:1055 - Node /${ip}:7000 state jump to NORMAL`,
        `INFO  [main] ${cassandraTime(at + 2)} CassandraDaemon.java:751 - Startup complete`,
      ],
      'cassandra-debug': [
        `DEBUG [main] ${cassandraTime(at)} StorageService.java:980 - Listening for CQL clients on /${ip}:9042`,
      ],
    };
  }
  if (document === 'capi-rabbitmq-configure') {
    return {
      rabbitmq: [
        `${stamp(at)} [info] <0.9.0> Starting RabbitMQ on node rabbit@${node}`,
        `${stamp(at + 1)} [info] <0.9.0> Server startup complete; 4 plugins started.`,
      ],
    };
  }
  if (document === 'capi-daemon-configure') {
    return { capidaemon: [JSON.stringify({ ts: at / 1000, l: 'info', m: `capidaemon started on ${node}` })] };
  }
  if (document === 'capi-bastion-configure') {
    return {
      webapi: [JSON.stringify({ ts: at / 1000, l: 'info', m: 'capiwebapi listening on :6543' })],
      'nginx-error': [`${stamp(at).slice(0, 19).replace('T', ' ')} [notice] 1#1: start worker processes`],
    };
  }
  if (document === 'capi-prometheus-configure') {
    return {
      prometheus: [
        `time=${stamp(at)} level=INFO source=web.go:650 msg="Server is ready to receive web requests."`,
      ],
    };
  }
  return {};
}

export function shipNodeLogs(
  ctx: Ctx,
  command: SsmCommand,
  invocation: SsmInvocation,
  result: InvocationResult,
): void {
  if (!result.started) return;
  const instance = ec2Of(ctx).instances[invocation.InstanceId] as
    | { Tags?: { Key?: string; Value?: string }[]; PrivateIpAddress?: string }
    | undefined;
  const deployment = tagValue(instance?.Tags, 'DeploymentName');
  if (!deployment) return;
  const node = invocation.name.replace(`${deployment}-`, '');
  const group = logGroupName(deployment);
  const at = result.endedAt;
  const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');
  const output = [...lines(result.stdout), ...lines(result.stderr)];
  writeNodeLog(ctx.account, group, logStreamName(node, 'ssm'), invocation.startAt, output);
  if (result.status === 'Success') {
    const shipped = softwareLines(command.DocumentName, node, instance?.PrivateIpAddress ?? '', at);
    for (const [source, entries] of Object.entries(shipped)) {
      writeNodeLog(ctx.account, group, logStreamName(node, source), at, entries);
    }
  } else if (result.stderr) {
    const source = sourceOfDocument(command.DocumentName);
    if (source !== 'ssm') {
      writeNodeLog(
        ctx.account,
        group,
        logStreamName(node, source),
        at,
        lines(result.stderr).map((line) => `ERROR ${line}`),
      );
    }
  }
}
