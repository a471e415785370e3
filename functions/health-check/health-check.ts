import { GetCommandInvocationCommand, ListCommandInvocationsCommand } from '@aws-sdk/client-ssm';
import { HealthCheckFailed } from '../../src/core/errors.js';
import type { Plan } from '../../src/core/spec/plan.js';
import { awsCall } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';

export interface CheckCommand {
  commandId: string;
  check?: string;
}

export interface CheckResult {
  check: string;
  healthy: boolean;
  /** One line an operator reads: "4/4 Cassandra nodes UN". */
  summary: string;
  /** Nodes or targets that are not healthy (at most 10). */
  unhealthy: string[];
}

const nicknameOfIp = (plan: Plan, ip: string) =>
  plan.nodes.find((node) => node.privateIp === ip)?.nickname ?? ip;

/**
 * Parses each check's output. The formats are the contract of provisioning-docs/capi-health-check.yaml:
 * raw `nodetool status`, `amqp10-listener ok` / `queue capidaemon present`, `webapi http 200`, `ui http 200`,
 * and `target <ip:port> up|down` per Prometheus target.
 */
export const PARSERS: Record<string, (plan: Plan, stdout: string) => Omit<CheckResult, 'check'>> = {
  cassandra(plan, stdout) {
    const up = new Set([...stdout.matchAll(/^UN\s+(\d+\.\d+\.\d+\.\d+)/gm)].map((match) => match[1]));
    const down = plan.cassandra.hosts.filter((ip) => !up.has(ip)).map((ip) => nicknameOfIp(plan, ip));
    return {
      healthy: down.length === 0,
      summary: `${plan.cassandra.hosts.length - down.length}/${plan.cassandra.hosts.length} Cassandra nodes UN`,
      unhealthy: down.slice(0, 10),
    };
  },
  /**
   * Between two changes of a resize: the ring is between sizes, so no count is expected, but every node nodetool
   * lists must be UN (a joining UJ, leaving UL or down DN node is not) and there must be one.
   */
  'cassandra-ring'(plan, stdout) {
    const lines = [...stdout.matchAll(/^([UD][NJLM])\s+(\d+\.\d+\.\d+\.\d+)/gm)];
    const notUp = lines.filter((match) => match[1] !== 'UN');
    return {
      healthy: lines.length > 0 && notUp.length === 0,
      summary: `${lines.length - notUp.length}/${lines.length} nodes of the ring UN`,
      unhealthy: notUp.slice(0, 10).map((match) => `${nicknameOfIp(plan, match[2])} ${match[1]}`),
    };
  },
  rabbitmq(_plan, stdout) {
    const missing = ['amqp10-listener ok', 'queue capidaemon present'].filter(
      (line) => !stdout.includes(line),
    );
    return {
      healthy: missing.length === 0,
      summary: missing.length
        ? `RabbitMQ lacks: ${missing.join(', ')}`
        : 'RabbitMQ AMQP 1.0 listener and capidaemon queue present',
      unhealthy: missing.length ? ['rabbitmq'] : [],
    };
  },
  webapi(_plan, stdout) {
    const ok = /webapi http 200/.test(stdout);
    return {
      healthy: ok,
      summary: ok ? 'webapi answers HTTP 200' : `webapi: ${stdout.trim().split('\n').pop() ?? 'no answer'}`,
      unhealthy: ok ? [] : ['bastion'],
    };
  },
  ui(_plan, stdout) {
    const ok = /ui http 200/.test(stdout);
    return {
      healthy: ok,
      summary: ok ? 'UI served through nginx' : `ui: ${stdout.trim().split('\n').pop() ?? 'no answer'}`,
      unhealthy: ok ? [] : ['bastion'],
    };
  },
  prometheus(plan, stdout) {
    const up = new Set([...stdout.matchAll(/^target (\S+) up$/gm)].map((match) => match[1]));
    const down = plan.prometheusTargets.filter((target) => !up.has(target.target));
    return {
      healthy: down.length === 0,
      summary: `${plan.prometheusTargets.length - down.length}/${plan.prometheusTargets.length} Prometheus targets up`,
      unhealthy: down.slice(0, 10).map((target) => `${target.nickname} ${target.target}`),
    };
  },
};

/** Where to look when a check fails (nodes are reached with Session Manager, never SSH). */
const CHECK_HINTS: Record<string, string> = {
  cassandra:
    'A Cassandra node is not UN in nodetool status: on that node read journalctl -u cassandra and /var/log/cassandra/system.log.',
  rabbitmq: 'On the rabbitmq node read journalctl -u rabbitmq-server and rabbitmq-diagnostics listeners.',
  webapi: 'On the bastion read journalctl -u capiwebapi.',
  ui: 'On the bastion check nginx -t and /var/log/nginx/error.log.',
  prometheus:
    'A scrape target is down: check node_exporter (9100), the Cassandra JMX exporter (7070), the daemon (9201), the webapi (9200) or the RabbitMQ plugin (15692) on that node.',
};

/**
 * GetCommandInvocation gives at most the first 24,000 characters of standard output (the rest is only in the
 * command's S3 output). `nodetool status` of ~320 nodes, or the target list of a Prometheus scraping ~1,000, is
 * longer: then the lines cannot be judged one by one, and the check's own exit code (the script counts UN nodes
 * and up targets itself against ExpectedNodes / ExpectedTargets) decides.
 */
export const STANDARD_OUTPUT_LIMIT = 24_000;

interface CheckOutput {
  stdout: string;
  /** The invocation's status: Success means the check's script exited 0. */
  status: string;
}

async function checkOutput({ clients }: DeploymentContext, command: CheckCommand): Promise<CheckOutput> {
  const site = { resource: `health check ${command.check}`, id: command.commandId };
  const listed = await awsCall(site, () =>
    clients.ssm.send(new ListCommandInvocationsCommand({ CommandId: command.commandId })),
  );
  const instanceId = listed.CommandInvocations?.[0]?.InstanceId;
  if (!instanceId) return { stdout: '', status: 'None' };
  const invocation = await awsCall({ ...site, id: instanceId }, () =>
    clients.ssm.send(
      new GetCommandInvocationCommand({ CommandId: command.commandId, InstanceId: instanceId }),
    ),
  );
  return { stdout: invocation.StandardOutputContent ?? '', status: invocation.Status ?? 'None' };
}

/** A check judged from its lines, or from its exit code when SSM cut its output (see STANDARD_OUTPUT_LIMIT). */
function judge(plan: Plan, check: string, output: CheckOutput): CheckResult {
  const parsed = PARSERS[check](plan, output.stdout);
  const truncated = output.stdout.length >= STANDARD_OUTPUT_LIMIT;
  if (parsed.healthy || !truncated) return { check, ...parsed };
  const passed = output.status === 'Success';
  return {
    check,
    healthy: passed,
    summary: `${check}: output cut at ${STANDARD_OUTPUT_LIMIT} characters; the check ${passed ? 'passed' : `ended ${output.status}`} (its exit code counts every node)`,
    unhealthy: passed ? [] : parsed.unhealthy,
  };
}

/**
 * Reads the finished health-check commands and judges them. With `failWhenUnhealthy` an unhealthy cluster is a
 * HealthCheckFailed naming each check and node; without it (the Cassandra readiness loop) the result says so.
 * `ringOnly` judges nodetool's output without the plan's node count (a resize between two ring changes).
 */
export async function evaluateChecks(
  ctx: DeploymentContext,
  commands: CheckCommand[],
  failWhenUnhealthy: boolean,
  ringOnly = false,
): Promise<{ healthy: boolean; results: CheckResult[] }> {
  const results: CheckResult[] = [];
  for (const command of commands) {
    const asked = command.check ?? 'unknown';
    const check = ringOnly && asked === 'cassandra' ? 'cassandra-ring' : asked;
    if (!PARSERS[check]) throw new Error(`no parser for health check ${check}`);
    results.push(judge(ctx.plan, check, await checkOutput(ctx, command)));
  }
  const healthy = results.every((result) => result.healthy);
  if (!healthy && failWhenUnhealthy) {
    const failed = results.filter((result) => !result.healthy);
    const checks = failed.map((result) => result.check);
    throw new HealthCheckFailed({
      resource: `${checks.join(', ')} health check of deployment ${ctx.plan.deployment}`,
      id: failed[0].unhealthy[0] ?? null,
      message: failed.map((result) => `${result.summary} (${result.unhealthy.join(', ')})`).join('; '),
      hint: `${checks.map((check) => CHECK_HINTS[check] ?? '').join(' ')} Fix, then re-run create.`.trim(),
      details: { failed },
    });
  }
  return { healthy, results };
}
