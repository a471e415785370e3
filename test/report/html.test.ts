import { describe, expect, it } from 'vitest';
import type { InventoryItem } from '../../src/core/inventory.js';
import { escapeHtml, renderHtmlReport } from '../../src/report/html.js';
import { loadMachineShape } from '../../src/report/machine.js';
import { buildRows, flattenRows } from '../../src/report/rows.js';
import {
  commandFailedCause,
  failedCreate,
  hostileCause,
  runningCreate,
  succeededCreate,
} from './fixtures.js';

const resources: InventoryItem[] = [
  { type: 'vpc', id: 'vpc-0abc', name: 'sample_vpc', state: 'available', billed: true },
  {
    type: 'instance',
    id: 'i-0cass001',
    name: 'sample-cass001',
    state: 'running',
    billed: true,
    size: 'c7gd.2xlarge',
  },
  { type: 'role', id: 'sample-instance-role', name: 'sample-instance-role', state: 'present', billed: false },
];
const hourlyCost = {
  total: 3.1,
  currency: 'USD' as const,
  items: [
    { name: 'instance', type: 'c7gd.2xlarge', count: 4, hourly: 3.055 },
    { name: 'natgateway', hourly: 0.045 },
  ],
};

const count = (html: string, text: string) => html.split(text).length - 1;

describe('renderHtmlReport', () => {
  it('puts the failed step first with its state, resource, id, AWS code, message and hint', () => {
    // Act
    const html = renderHtmlReport(failedCreate(), { resources, hourlyCost, generatedAt: 0 });

    // Assess
    const panel = html.slice(html.indexOf('<section id="failed-step"'), html.indexOf('</section>'));
    expect(html.indexOf('id="failed-step"')).toBeLessThan(html.indexOf('id="timeline"'));
    expect(panel).toContain('data-state="Check installs"');
    expect(panel).toContain('<dd class="resource">node cass002 (capi-cassandra-install)</dd>');
    expect(panel).toContain('<dd class="resource-id">i-0cass002</dd>');
    expect(panel).toContain('<dd class="aws-error">—</dd>');
    expect(panel).toContain('<dd class="error">CommandFailed</dd>');
    expect(panel).toContain(`<dd class="message">${commandFailedCause.message}</dd>`);
    expect(panel).toContain('<dd class="hint">Read the stderr tail');
    expect(panel).toContain('<strong>cass004</strong>');
  });

  it('draws one Gantt bar per row of the history, loops collapsed', () => {
    // Prepare
    const record = failedCreate();
    const rows = flattenRows(buildRows(record, loadMachineShape(record.machine)));

    // Act
    const html = renderHtmlReport(record, { resources });

    // Assess
    expect(count(html, '<div class="bar ')).toBe(rows.length);
    expect(count(html, 'data-state="Check NAT gateway state"')).toBe(1);
    expect(html).toContain('Check NAT gateway state ×24');
    expect(count(html, 'class="poll"')).toBe(24 + 3 + 3 + 2);
    expect(html).toMatch(
      /<div class="row caught kind-step blamed"[^>]*data-state="Check installs"[^>]*id="gantt-failed-step">/,
    );
    expect(html).toContain('<div class="group" data-parent="Launch fleet while NAT gateway comes up">');
    expect(html).toMatch(/class="row retried kind-step"[^>]*data-state="Launch instances"/);
  });

  it('scales the bars to the execution duration', () => {
    // Act: the NAT loop runs from +31 s to +151 s of a 215 s run
    const html = renderHtmlReport(failedCreate(), { resources });

    // Assess
    const bar =
      /data-state="Check NAT gateway state".*?<div class="bar succeeded" style="left:([\d.]+)%;width:([\d.]+)%"/s.exec(
        html,
      );
    expect(Number(bar?.[1])).toBeCloseTo((31 / 215) * 100, 2);
    expect(Number(bar?.[2])).toBeCloseTo((120 / 215) * 100, 2);
  });

  it('escapes every text that comes from an error', () => {
    // Act
    const html = renderHtmlReport(failedCreate(hostileCause), { resources: [] });

    // Assess
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>cass002');
    expect(html).not.toContain('"onmouseover=');
    expect(html).toContain('node &lt;b&gt;cass002&lt;/b&gt;');
    expect(html).toContain('exit 2: &lt;/dd&gt;&lt;script&gt;alert(document.cookie)&lt;/script&gt;');
    expect(html).toContain('Code&#39;&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(count(html, '<script')).toBe(1);
  });

  it('escapes the state name in its attribute', () => {
    // Prepare
    const record = failedCreate();
    record.failure = { state: 'Bad "name" <x>', error: 'States.Runtime', cause: 'not json' };
    record.steps.push({ ...record.steps[0], name: 'Bad "name" <x>', type: 'Fail', outcome: 'failed' });

    // Act
    const html = renderHtmlReport(record, { resources: [] });

    // Assess
    expect(html).toContain('data-state="Bad &quot;name&quot; &lt;x&gt;"');
    expect(html).toContain('<dd class="cause">not json</dd>');
  });

  it('lists the resources and the cost estimate', () => {
    // Act
    const html = renderHtmlReport(succeededCreate(), { resources, hourlyCost });

    // Assess
    expect(html).toContain('<h2>Resources (3, 2 billed)</h2>');
    expect(html).toContain(
      '<tr><td>instance</td><td><code>i-0cass001</code></td><td>sample-cass001</td><td>running</td><td>yes</td><td>c7gd.2xlarge</td></tr>',
    );
    expect(html).toContain('<strong>$3.10 per hour</strong> (USD), about $2232.00 per 30-day month');
    expect(html).toContain('<td class="num">$0.045</td>');
    expect(html).not.toContain('id="failed-step"');
    expect(html).toContain('4/4 Cassandra nodes UN');
  });

  it('says why there is no resource table', () => {
    // Act
    const html = renderHtmlReport(succeededCreate(), {
      resources: [],
      resourcesNote: 'No spec of sample here.',
    });

    // Assess
    expect(html).toContain('<h2>Resources (0, 0 billed)</h2><p class="meta">No spec of sample here.</p>');
    expect(html).not.toContain('id="cost"');
  });

  it('is self-contained: no external resource, and a CSP that allows only its own script', () => {
    // Act
    const html = renderHtmlReport(runningCreate(98), { resources });

    // Assess
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(html).not.toContain('<link');
    expect(html).toMatch(
      /content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-[A-Za-z0-9+/=]+'"/,
    );
    expect(html).toContain('<div class="row running kind-step');
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that matter in content and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    expect(escapeHtml(undefined)).toBe('');
  });
});
