import type { ExecutionRecord, StepRecord } from '../core/execution-record.js';
import type { InventoryItem } from '../core/inventory.js';
import type { Plan } from '../core/spec/plan.js';
import { type CostEstimate, formatUsd } from '../cost/estimate.js';

import { clock } from '../report/format.js';

export type Writer = (line: string) => void;

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

/** `status`: each resource with type, id, name, state, billed and $/hour, then the total hourly cost. */
export function costTable(estimate: CostEstimate): string[] {
  if (estimate.items.length === 0) return ['  (no resources)', '  total: $0.0000/hour'];
  const header = { type: 'TYPE', id: 'ID', name: 'NAME', state: 'STATE', billed: 'BILLED', cost: '$/HOUR' };
  const rows = [
    header,
    ...estimate.items.map((item) => ({
      type: item.type,
      id: item.id,
      name: item.name,
      state: item.state,
      billed: item.billed ? 'yes' : 'no',
      cost: formatUsd(item.hourlyUsd),
    })),
  ];
  const keys = ['type', 'id', 'name', 'state', 'billed'] as const;
  const widths = keys.map((key) => Math.max(...rows.map((row) => row[key].length)));
  const costWidth = Math.max(...rows.map((row) => row.cost.length));
  const lines = rows.map(
    (row) =>
      `  ${keys.map((key, i) => row[key].padEnd(widths[i])).join('  ')}  ${row.cost.padStart(costWidth)}`,
  );
  lines.push(`  ${totalLine(estimate)}`);
  for (const note of estimate.notes) lines.push(`  note: ${note}`);
  return lines;
}

/** `total: $0.8123/hour (about $593.00 per 30-day month) in us-east-1`, marked when some price is missing. */
export function totalLine(estimate: CostEstimate): string {
  const hourly = `$${estimate.hourlyUsd.toFixed(4)}/hour`;
  const monthly = `$${(estimate.hourlyUsd * 24 * 30).toFixed(2)} per 30-day month`;
  return estimate.complete
    ? `total: ${hourly} (about ${monthly}) in ${estimate.region}`
    : `total: at least ${hourly} (at least ${monthly}) in ${estimate.region}: some resources are not priced, see the notes`;
}

/** One resource of the `status --json` output. */
export function costJson(estimate: CostEstimate) {
  return {
    resources: estimate.items.map(({ type, id, name, state, billed, size, hourlyUsd, note }) => ({
      type,
      id,
      name,
      state,
      billed,
      hourlyUsd,
      ...(size === undefined ? {} : { size }),
      ...(note === undefined ? {} : { note }),
    })),
    hourlyUsd: estimate.hourlyUsd,
    region: estimate.region,
    complete: estimate.complete,
    notes: estimate.notes,
  };
}

/** One deployment of `list`: resource counts and the hourly cost of what it owns. */
export function listLine(row: {
  deployment: string;
  resources: number;
  billed: number;
  hourlyUsd: number;
  complete: boolean;
  state?: string;
}): string {
  const state = row.state ? `${row.state.padEnd(13)} ` : '';
  const cost = `${row.complete ? '' : '≥ '}$${row.hourlyUsd.toFixed(4)}/hour`;
  return `${row.deployment.padEnd(24)} ${state}${row.resources} resources, ${row.billed} billed, ${cost}`;
}
