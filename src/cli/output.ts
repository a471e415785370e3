import type { InventoryItem } from '../../functions/inventory/inventory.js';
import { parseCause } from '../../functions/shared/errors.js';
import type { ExecutionRecord, StepRecord } from '../local/history.js';
import type { Plan } from '../spec/plan.js';

export type Writer = (line: string) => void;

/** `mm:ss` of a duration in ms. */
export function clock(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

/**
 * Live progress of a run: one line per finished Task or Parallel step with its offset, duration and retries.
 * A wait loop's check step prints once, not on every poll.
 */
export function progressPrinter(write: Writer, startMs: () => number) {
  const visits = new Map<string, number>();
  return (step: StepRecord, phase: 'start' | 'end') => {
    const indent = step.parent ? '  │ ' : '';
    if (phase === 'start') {
      if (step.type === 'Parallel') write(`[+${clock(step.start - startMs())}] ┌ ${step.name}`);
      return;
    }
    if (step.type !== 'Task' && step.type !== 'Parallel') return;
    const count = (visits.get(step.name) ?? 0) + 1;
    visits.set(step.name, count);
    if (count > 1 && step.outcome === 'succeeded') return;
    const mark = step.outcome === 'succeeded' ? '✔' : step.outcome === 'caught' ? '↷' : '✖';
    const retries = step.retries > 0 ? `  (${step.retries} ${step.retries === 1 ? 'retry' : 'retries'})` : '';
    const duration = step.end === null ? '' : `  ${((step.end - step.start) / 1000).toFixed(1)}s`;
    write(`[+${clock(step.start - startMs())}] ${indent}${mark} ${step.name}${duration}${retries}`);
  };
}

/** The failure of an execution, as an operator wants it: step, resource, id, AWS error, message, hint. */
export function describeFailure(failure: NonNullable<ExecutionRecord['failure']>): string[] {
  const cause = parseCause(failure.cause);
  const lines = [`✖ FAILED at step: ${failure.state ?? '(unknown step)'}`, `  error:    ${failure.error}`];
  if (!cause) return [...lines, `  cause:    ${failure.cause}`];
  lines.push(`  resource: ${cause.resource}`);
  if (cause.id) lines.push(`  id:       ${cause.id}`);
  if (cause.awsError) lines.push(`  AWS code: ${cause.awsError}`);
  lines.push(`  message:  ${cause.message}`, `  hint:     ${cause.hint}`);
  for (const [key, value] of Object.entries(cause.details ?? {})) {
    lines.push(`  ${`${key}:`.padEnd(9)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return lines;
}

export function summaryLines(record: ExecutionRecord): string[] {
  const m = record.metrics;
  return [
    `${record.status === 'SUCCEEDED' ? '✔' : '✖'} ${record.machine} ${record.deployment}: ${record.status} (execution ${record.execution})`,
    `  ${m.virtualSeconds} s virtual time, ${m.stateTransitions} state transitions, ${m.historyEvents} history events, ${m.apiCalls} AWS API calls`,
  ];
}

export function resourceTable(items: InventoryItem[]): string[] {
  if (items.length === 0) return ['  (no resources)'];
  const width = (pick: (item: InventoryItem) => string) =>
    Math.max(...items.map((item) => pick(item).length));
  const w = [width((i) => i.type), width((i) => i.id), width((i) => i.name)];
  return items.map(
    (item) =>
      `  ${item.type.padEnd(w[0])}  ${item.id.padEnd(w[1])}  ${item.name.padEnd(w[2])}  ${item.state}${item.billed ? '  (billed)' : ''}`,
  );
}

/** What `validate` prints: the derived plan, compact. */
export function planLines(plan: Plan): string[] {
  const lines = [
    `deployment ${plan.deployment} in ${plan.region} (${plan.availabilityZone}), ${plan.arch}`,
    `network: VPC ${plan.network.vpcCidr}, private ${plan.network.privateSubnetCidr}, public ${plan.network.publicSubnetCidr}`,
    `daemon tuning: thread pool ${plan.daemon.threadPoolSize}, DB writers ${plan.daemon.dbWriters}`,
    `cassandra seeds: ${plan.cassandra.seeds.join(',')}`,
    `prometheus targets: ${plan.prometheusTargets.length}`,
    'nodes:',
  ];
  for (const node of plan.nodes) {
    const token = node.initialToken ? `  token ${node.initialToken}` : '';
    lines.push(
      `  ${node.name.padEnd(28)} ${node.role.padEnd(10)} ${node.instanceType.padEnd(14)} ${node.privateIp.padEnd(12)} ${node.subnet}${token}`,
    );
  }
  lines.push('security groups:');
  for (const group of plan.securityGroups) {
    const rules = group.rules.map((rule) => `${rule.port}/${rule.protocol}<-${rule.cidr}`).join(' ');
    lines.push(`  ${group.name}: ${rules}`);
  }
  return lines;
}
