import { createHash } from 'node:crypto';
import { type FailureCause, parseCause } from '../core/errors.js';
import type { ExecutionRecord } from '../core/execution-record.js';
import type { InventoryItem } from '../core/inventory.js';
import type { HourlyCost } from '../cost/estimate.js';
import { clock } from './format.js';
import { duration } from './history.js';
import { logEntriesOf, logText } from './log-lines.js';
import { loadMachineShape, type MachineShape } from './machine.js';
import {
  blameStep,
  buildRows,
  endOfRecord,
  healthResults,
  type NodeResult,
  nodeResultsOf,
  type Row,
} from './rows.js';

/**
 * `capi-deploy report --html <file>`: one self-contained page (inline CSS and a few lines of JS, no request to
 * anything) that an operator can attach to a ticket: the failure first, a Gantt timeline of the steps (one bar per
 * row of the text history: poll loops collapsed, branch steps grouped under their Parallel, Map iterations under
 * their Map), colored by outcome, then the resources and the cost estimate. All text is escaped: error messages
 * and stderr tails come from the nodes.
 */

interface ReportExtras {
  /** What the deployment owns now (InventoryItem rows, as `status` lists them). */
  resources: InventoryItem[];
  hourlyCost?: HourlyCost | null;
  /** Shown instead of the resource table when the resources could not be listed. */
  resourcesNote?: string;
  /** @default read from the record's machine's ASL, as renderHistory does */
  shape?: MachineShape | null;
  /** When the report was made. @default Date.now() */
  generatedAt?: number;
}

/** Escapes text for HTML content and attribute values. */
function escapeHtml(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  return text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string,
  );
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const pct = (value: number) => `${Math.max(0, Math.min(100, value)).toFixed(3)}%`;
const retriesText = (retries: number) => (retries === 1 ? '1 retry' : `${retries} retries`);

const STYLE = `
:root { --ok: #2f9e55; --failed: #d64545; --caught: #e09a1b; --retried: #8a63d2; --running: #3a7bd5;
  --ink: #1d2330; --muted: #6b7385; --line: #e3e6ee; --bg: #fbfcfe; color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; padding: 1.5rem 2rem 3rem; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--ink); background: var(--bg); }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 2rem 0 .6rem; }
h3 { font-size: .95rem; margin: 1rem 0 .4rem; }
.meta { color: var(--muted); margin: 0; }
.status-SUCCEEDED { color: var(--ok); } .status-FAILED { color: var(--failed); } .status-RUNNING { color: var(--running); }
.failure { border: 1px solid var(--failed); border-left: 6px solid var(--failed); background: #fff5f5;
  padding: .8rem 1.2rem; margin-top: 1.2rem; border-radius: 4px; }
.failure h2 { margin-top: 0; color: var(--failed); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
pre { margin: 0; white-space: pre-wrap; font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace;
  background: #f3f4f8; padding: .4rem .6rem; border-radius: 3px; }
code { font: 12px ui-monospace, Menlo, Consolas, monospace; }
ul.nodes { margin: 0; padding-left: 1.2rem; } ul.nodes li.ok::marker { color: var(--ok); }
ul.nodes li.bad::marker { color: var(--failed); }
.legend { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; color: var(--muted); margin-bottom: .5rem; }
.legend span::before { content: ""; display: inline-block; width: .8rem; height: .8rem; border-radius: 2px;
  margin-right: .3rem; vertical-align: -1px; background: var(--c); }
.gantt { border: 1px solid var(--line); border-radius: 4px; background: #fff; }
.row, .axis { display: grid; grid-template-columns: minmax(16rem, 26rem) 1fr 5.5rem; align-items: center;
  border-bottom: 1px solid var(--line); min-height: 1.7rem; }
.axis { position: sticky; top: 0; background: #fff; z-index: 1; color: var(--muted); font-size: 12px; }
.label { padding: 0 .6rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.track { position: relative; height: 1.7rem; background-image: linear-gradient(90deg, var(--line) 1px, transparent 1px);
  background-size: var(--tick, 10%) 100%; }
.axis .track { background: none; } .tick-label { position: absolute; top: .3rem; transform: translateX(-50%); }
.took { text-align: right; padding-right: .6rem; color: var(--muted); font-variant-numeric: tabular-nums; }
.bar { position: absolute; top: .35rem; height: 1rem; min-width: 2px; border-radius: 2px; background: var(--c); }
.bar .poll { position: absolute; top: 0; bottom: 0; width: 1px; background: rgba(255,255,255,.7); }
.succeeded { --c: var(--ok); } .failed { --c: var(--failed); } .caught { --c: var(--caught); }
.retried { --c: var(--retried); } .running { --c: var(--running); }
.row.running .bar { background: repeating-linear-gradient(45deg, var(--running) 0 6px, #7fa8e6 6px 12px); }
.row.blamed { background: #fff0f0; } .row.blamed .label { font-weight: 600; color: var(--failed); }
.row .mark { display: inline-block; width: 1.1rem; color: var(--c); }
.row .label { padding-left: calc(.6rem + var(--depth, 0) * 1.2rem); }
.kind-loop .label::after { content: " (poll loop)"; color: var(--muted); }
.row-nodes { padding: .2rem .6rem .5rem calc(1.6rem + var(--depth) * 1.2rem); border-bottom: 1px solid var(--line); }
body.problems-only .row.succeeded:not(.parent-of-problem), body.problems-only .row-nodes.succeeded { display: none; }
.row-logs { padding: 0 .6rem .3rem calc(1.6rem + var(--depth) * 1.2rem); border-bottom: 1px solid var(--line); font-size: 12px; }
.row-logs summary { color: var(--muted); cursor: pointer; } .row-logs pre { margin: .2rem 0; white-space: pre-wrap; }
.row-logs .log-error, .row-logs .log-critical { color: var(--failed); } .row-logs .log-warn { color: var(--caught); }
body.problems-only .row-logs.succeeded { display: none; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 500; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: 12px; }
`;

const SCRIPT = `
document.getElementById('problems-only').addEventListener('change', function (event) {
  document.body.classList.toggle('problems-only', event.target.checked);
});
`;

/** The page runs only its own script: the CSP names it by hash, so no injected script could run. */
const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');

const MARK: Record<Row['outcome'], string> = {
  succeeded: '✔',
  retried: '✔',
  caught: '↷',
  failed: '✖',
  running: '…',
};

function nodeList(nodes: NodeResult[]): string {
  const items = nodes.map(
    (result) =>
      `<li class="${result.ok ? 'ok' : 'bad'}"><strong>${escapeHtml(result.node)}</strong>${result.text ? ` — ${escapeHtml(result.text)}` : ''}</li>`,
  );
  return `<ul class="nodes">${items.join('')}</ul>`;
}

function detailValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return text.includes('\n') || text.length > 120 ? `<pre>${escapeHtml(text)}</pre>` : escapeHtml(text);
}

function failurePanel(record: ExecutionRecord): string {
  if (!record.failure) return '';
  const blamed = blameStep(record);
  const state = blamed?.name ?? record.failure.state ?? '(unknown step)';
  const cause: FailureCause | null = parseCause(record.failure.cause);
  const fields: [string, string, string][] = cause
    ? [
        ['Resource', escapeHtml(cause.resource), 'resource'],
        ['Id', escapeHtml(cause.id ?? '—'), 'resource-id'],
        ['AWS error code', escapeHtml(cause.awsError ?? '—'), 'aws-error'],
        ['Error', escapeHtml(record.failure.error), 'error'],
        ['Message', escapeHtml(cause.message), 'message'],
        ['Hint', escapeHtml(cause.hint), 'hint'],
      ]
    : [
        ['Error', escapeHtml(record.failure.error), 'error'],
        ['Cause', detailValue(record.failure.cause || '(none)'), 'cause'],
      ];
  if (blamed) {
    const retries = blamed.retries > 0 ? `, after ${retriesText(blamed.retries)}` : '';
    fields.push(['At', `+${clock(blamed.start - record.startDate)} into the execution${retries}`, 'at']);
  }
  const nodes = nodeResultsOf(cause);
  const details = Object.entries(cause?.details ?? {});
  return [
    `<section id="failed-step" class="failure" data-state="${escapeHtml(state)}">`,
    `<h2>✖ Failed step: <span class="state">${escapeHtml(state)}</span></h2>`,
    `<dl>${fields.map(([term, value, cls]) => `<dt>${term}</dt><dd class="${cls}">${value}</dd>`).join('')}</dl>`,
    nodes.length > 0 ? `<h3>Per node</h3>${nodeList(nodes)}` : '',
    details.length > 0
      ? `<details><summary>All details</summary><dl>${details
          .map(([key, value]) => `<dt>${escapeHtml(key)}</dt><dd>${detailValue(value)}</dd>`)
          .join('')}</dl></details>`
      : '',
    '</section>',
  ].join('\n');
}

/** Tick spacing for the time axis: the smallest "round" step giving at most 8 ticks. */
function tickStep(spanMs: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400].map((s) => s * 1000);
  return steps.find((step) => spanMs / step <= 8) ?? Math.ceil(spanMs / 8 / 3_600_000) * 3_600_000;
}

interface Scale {
  start: number;
  span: number;
  end: number;
}

function rowTitle(row: Row, scale: Scale): string {
  const took = row.end === null ? 'running' : duration(row.end - row.start);
  const parts = [
    row.label,
    `+${clock(row.start - scale.start)}`,
    took,
    row.outcome,
    row.retries > 0 ? retriesText(row.retries) : '',
    row.error ?? '',
  ];
  return parts.filter(Boolean).join(' · ');
}

function hasProblem(row: Row): boolean {
  return row.outcome !== 'succeeded' || row.children.some(hasProblem);
}

function ganttRows(rows: Row[], scale: Scale, depth: number): string {
  return rows
    .map((row) => {
      const end = row.end ?? scale.end;
      const left = ((row.start - scale.start) / scale.span) * 100;
      const width = Math.max(((end - row.start) / scale.span) * 100, 0.2);
      const span = Math.max(end - row.start, 1);
      const polls =
        row.kind === 'loop'
          ? row.steps
              .filter((step) => step.name === row.name)
              .slice(0, 300)
              .map(
                (step) => `<i class="poll" style="left:${pct(((step.start - row.start) / span) * 100)}"></i>`,
              )
              .join('')
          : '';
      const classes = [
        'row',
        row.outcome,
        `kind-${row.kind}`,
        row.blamed ? 'blamed' : '',
        row.children.some(hasProblem) ? 'parent-of-problem' : '',
      ].filter(Boolean);
      const line = [
        `<div class="${classes.join(' ')}" style="--depth:${depth}" data-state="${escapeHtml(row.name)}" data-outcome="${row.outcome}" data-kind="${row.kind}"${row.blamed ? ' id="gantt-failed-step"' : ''}>`,
        `<div class="label" title="${escapeHtml(rowTitle(row, scale))}"><span class="mark">${MARK[row.outcome]}</span>${escapeHtml(row.label)}${row.retries > 0 ? ` <small>(${retriesText(row.retries)})</small>` : ''}</div>`,
        `<div class="track"><div class="bar ${row.outcome}" style="left:${pct(left)};width:${pct(width)}" title="${escapeHtml(rowTitle(row, scale))}">${polls}</div></div>`,
        `<div class="took">${row.end === null ? 'running' : escapeHtml(duration(row.end - row.start))}</div>`,
        '</div>',
      ].join('');
      const nodes =
        row.nodes.length > 0 && row.type !== 'Fail'
          ? `<div class="row-nodes ${row.outcome}" style="--depth:${depth}">${nodeList(row.nodes)}</div>`
          : '';
      const entries = logEntriesOf(row.steps);
      // The step's Lambda log lines (local mode records them), folded: open one to read what the step did.
      const logs =
        entries.length > 0
          ? `<details class="row-logs ${row.outcome}" style="--depth:${depth}" data-state="${escapeHtml(row.name)}"><summary>${entries.length} log line${entries.length === 1 ? '' : 's'}</summary><pre>${entries
              .map(
                (entry) =>
                  `<span class="log-${escapeHtml(entry.level.toLowerCase())}">${escapeHtml(logText(entry))}</span>`,
              )
              .join('\n')}</pre></details>`
          : '';
      const children =
        row.children.length > 0
          ? `<div class="group" data-parent="${escapeHtml(row.name)}">${ganttRows(row.children, scale, depth + 1)}</div>`
          : '';
      return `${line}${nodes}${logs}${children}`;
    })
    .join('\n');
}

function timeline(record: ExecutionRecord, rows: Row[]): string {
  const end = endOfRecord(record);
  const scale: Scale = { start: record.startDate, span: Math.max(end - record.startDate, 1000), end };
  const step = tickStep(scale.span);
  const ticks: string[] = [];
  for (let t = 0; t <= scale.span; t += step) {
    ticks.push(`<span class="tick-label" style="left:${pct((t / scale.span) * 100)}">${clock(t)}</span>`);
  }
  const legend = (['succeeded', 'retried', 'caught', 'failed', 'running'] as const)
    .map((outcome) => `<span class="${outcome}">${outcome}</span>`)
    .join('');
  return [
    '<section id="timeline">',
    '<h2>Timeline</h2>',
    `<div class="legend">${legend}<label><input type="checkbox" id="problems-only"> only steps that failed, were caught or retried</label></div>`,
    `<div class="gantt" style="--tick:${pct((step / scale.span) * 100)}">`,
    `<div class="axis"><div class="label">step</div><div class="track">${ticks.join('')}</div><div class="took">duration</div></div>`,
    rows.length > 0 ? ganttRows(rows, scale, 0) : '<p class="meta">No steps recorded.</p>',
    '</div>',
    '</section>',
  ].join('\n');
}

function resourcesSection(extras: ReportExtras): string {
  const { resources } = extras;
  const billed = resources.filter((item) => item.billed).length;
  const heading = `<h2>Resources (${resources.length}, ${billed} billed)</h2>`;
  if (resources.length === 0) {
    return `<section id="resources">${heading}<p class="meta">${escapeHtml(extras.resourcesNote ?? 'The deployment owns no resources now.')}</p></section>`;
  }
  const rows = resources.map(
    (item) =>
      `<tr><td>${escapeHtml(item.type)}</td><td><code>${escapeHtml(item.id)}</code></td><td>${escapeHtml(item.name)}</td><td>${escapeHtml(item.state)}</td><td>${item.billed ? 'yes' : 'no'}</td><td>${escapeHtml(item.size ?? '')}</td></tr>`,
  );
  return [
    '<section id="resources">',
    heading,
    extras.resourcesNote ? `<p class="meta">${escapeHtml(extras.resourcesNote)}</p>` : '',
    '<table><thead><tr><th>Type</th><th>Id</th><th>Name</th><th>State</th><th>Billed</th><th>Size</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody></table>`,
    '</section>',
  ].join('\n');
}

/** Dollars with cents, and up to 4 decimals below a dollar ($0.045 for a NAT gateway hour). */
const usd = (value: number) => `$${value >= 1 ? value.toFixed(2) : value.toFixed(4).replace(/0{1,2}$/, '')}`;

function costSection(cost: HourlyCost | null | undefined): string {
  if (!cost) return '';
  const items = (cost.items ?? []).map(
    (item) =>
      `<tr><td>${escapeHtml(item.name)}</td><td>${escapeHtml(item.type ?? '')}</td><td>${escapeHtml(item.size ?? '')}</td><td class="num">${item.count ?? ''}</td><td class="num">${usd(item.hourly)}</td></tr>`,
  );
  return [
    '<section id="cost">',
    '<h2>Cost estimate</h2>',
    `<p><strong>${usd(cost.total)} per hour</strong> (${escapeHtml(cost.currency)}), about ${usd(cost.total * 24 * 30)} per 30-day month while these resources exist.</p>`,
    items.length > 0
      ? `<table><thead><tr><th>Item</th><th>Type</th><th>Size</th><th>Count</th><th>Per hour</th></tr></thead><tbody>${items.join('\n')}</tbody></table>`
      : '',
    '</section>',
  ].join('\n');
}

function healthSection(record: ExecutionRecord): string {
  const results = healthResults(record.output);
  return results.length > 0
    ? `<section id="health"><h2>Health checks</h2>${nodeList(results)}</section>`
    : '';
}

/**
 * The HTML report of an execution.
 * @example writeFileSync('report.html', renderHtmlReport(record, { resources, hourlyCost }))
 */
function renderHtmlReport(record: ExecutionRecord, extras: ReportExtras): string {
  const shape = extras.shape === undefined ? loadMachineShape(record.machine) : extras.shape;
  const rows = buildRows(record, shape);
  const end = endOfRecord(record);
  const m = record.metrics;
  const took = `${record.stopDate === null ? 'running for' : 'took'} ${duration(end - record.startDate)}`;
  const facts = [
    `execution <code>${escapeHtml(record.execution)}</code>`,
    `${record.mode} mode`,
    `started ${iso(record.startDate)}`,
    `${took}${record.mode === 'local' ? ' (virtual time)' : ''}`,
    `${m.stateTransitions} state transitions`,
    `${m.historyEvents} history events`,
    record.mode === 'local' ? `${m.apiCalls} AWS API calls` : '',
  ].filter(Boolean);
  const title = `${record.machine} ${record.deployment}: ${record.status}`;
  const mark = record.status === 'SUCCEEDED' ? '✔' : record.status === 'FAILED' ? '✖' : '…';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1 class="status-${record.status}">${mark} ${escapeHtml(record.machine)} <span class="deployment">${escapeHtml(record.deployment)}</span>: ${record.status}</h1>
<p class="meta">${facts.join(' · ')}</p>
</header>
${failurePanel(record)}
${timeline(record, rows)}
${healthSection(record)}
${resourcesSection(extras)}
${costSection(extras.hourlyCost)}
<footer>Report generated by capi-deploy at ${iso(extras.generatedAt ?? Date.now())}. Times are offsets from the start of the execution.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

export type { ReportExtras };
export { escapeHtml, renderHtmlReport };
