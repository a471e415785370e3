import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord, StepRecord } from '../../src/core/execution-record.js';
import { loadExecution } from '../../src/local/local-mode.js';
import { lockStateDir } from '../../src/local/store.js';
import { CHROMIUM, requireTool, skipWithout } from '../tools.js';

/**
 * The console in a real headless Chromium (the Debian package; CI installs it in .ci/run), against local mode in a
 * temporary state dir, each console started as `capi-deploy console --local` in its own process.
 * Skipped with a notice where Chromium is absent, failed instead under CAPI_REQUIRE_TOOLS=1 (test/tools.ts).
 * With CAPI_CONSOLE_SCREENSHOT=1 the failed run's graph is saved as docs/console-failed-run.png.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLE = readFileSync(join(ROOT, 'examples', 'sample.json'), 'utf8');
const INSTALL_FAILS = [
  {
    service: 'SSM',
    operation: 'SendCommand',
    target: 'cass002',
    document: 'capi-cassandra-install',
    exitCode: 100,
    stderr: 'E: Unable to locate package cassandra',
    times: -1,
  },
];

/** A console as an operator starts it: its own process (a local run fakes the timers of the process it runs in). */
interface RunningConsole {
  url: string;
  origin: string;
  child: ChildProcess;
}

function consoleIn(stateDir: string, faultsFile?: string): Promise<RunningConsole> {
  const args = ['bin/capi-deploy.js', 'console', '--local', '--state-dir', stateDir];
  if (faultsFile) args.push('--faults', faultsFile);
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const url = /^console: (http:\/\/127\.0\.0\.1:\d+)\/\?token=\S+$/m.exec(out);
      if (url) resolve({ url: url[0].slice('console: '.length), origin: url[1], child });
    });
    child.on('exit', (code) => reject(new Error(`console exited with ${code}: ${out}`)));
  });
}

/** Creates the sample from the deployments page; resolves with the execution the page went to. */
async function createFromPage(page: Page, server: RunningConsole): Promise<string> {
  await page.goto(server.url);
  await page.locator('#spec-text').fill(SAMPLE);
  await page.locator('#create').click();
  await page.waitForURL(/#\/d\/sample\/create-sample-/);
  return decodeURIComponent(new URL(page.url()).hash.split('/')[3]);
}

const statusesOf = (page: Page) =>
  page
    .locator('svg.graph .node')
    .evaluateAll((nodes) =>
      Object.fromEntries(
        nodes.map((node) => [node.getAttribute('data-state'), node.getAttribute('data-status')]),
      ),
    );

describe.skipIf(skipWithout(CHROMIUM))('console in Chromium', () => {
  let browser: Browser;
  let page: Page;
  const servers: RunningConsole[] = [];
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'capi-console-'));
  const faultyDir = mkdtempSync(join(tmpdir(), 'capi-console-faulty-'));

  beforeAll(async () => {
    const executablePath = requireTool(CHROMIUM);
    browser = await chromium.launch({ executablePath, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('request', (request) => {
      if (!request.url().startsWith('http://127.0.0.1:')) foreignRequests.push(request.url());
    });
    page.on('dialog', (dialog) => dialog.accept());
  });

  afterAll(async () => {
    await browser?.close();
    for (const { child } of servers) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
  });

  it('creates the sample from the page and turns every state it runs green, live', async () => {
    // Prepare
    const server = await consoleIn(stateDir);
    servers.push(server);

    // Act
    const execution = await createFromPage(page, server);
    // The run holds the state dir's lock, as a CLI create does: a concurrent create is refused.
    let concurrent: Error | undefined;
    try {
      lockStateDir(stateDir, 'create sample')();
    } catch (error) {
      concurrent = error as Error;
    }
    await page.locator(`svg.graph[data-execution="${execution}"]`).waitFor();
    const seenWhileRunning = await page.locator('#execution-status').textContent();
    await page.locator('#execution-status.status-SUCCEEDED').waitFor({ timeout: 120_000 });

    // Assess
    expect(concurrent?.message).toMatch(/in use by "create sample \(console/);
    const record = loadExecution(stateDir, execution)!;
    expect(record.status).toBe('SUCCEEDED');
    const statuses = await statusesOf(page);
    const ran = [...new Set(record.steps.map((step) => step.name))].filter((name) => name in statuses);
    expect(ran.length).toBeGreaterThan(40);
    for (const name of ran)
      expect([name, statuses[name]]).toEqual([name, expect.stringMatching(/^(succeeded|retried)$/)]);
    expect(Object.values(statuses)).not.toContain('running');
    expect(Object.values(statuses)).not.toContain('failed');
    console.log(`console: status when the graph was first drawn: ${seenWhileRunning}`);
    // Listed again once the run has let go of the account.
    await page.locator('#resources table tbody tr').nth(10).waitFor();
    await expect(page.locator('#executions tr[data-execution]').count()).resolves.toBe(1);
    expect(pageErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });

  it('shows the failed state of a faulty run and its cause, in two clicks from the deployments page', async () => {
    // Prepare
    const faultsFile = join(faultyDir, 'faults.json');
    writeFileSync(faultsFile, JSON.stringify(INSTALL_FAILS));
    const server = await consoleIn(faultyDir, faultsFile);
    servers.push(server);
    const execution = await createFromPage(page, server);
    await page.locator('#execution-status.status-FAILED').waitFor({ timeout: 120_000 });

    // Act: from the deployments page, one click on the deployment, one on the red state.
    await page.goto(`${server.origin}/#/`);
    await page.locator('#deployments a', { hasText: 'sample' }).click();
    await page.locator('svg.graph[data-execution]').waitFor();
    await page.locator('svg.graph .node.blamed').click();

    // Assess
    const record = loadExecution(faultyDir, execution)!;
    expect(record.status).toBe('FAILED');
    await expect(page.locator('svg.graph .node.blamed').getAttribute('data-status')).resolves.toBe('failed');
    await expect(page.locator('#state-name').textContent()).resolves.toBe(record.failure?.state);
    const cause = (await page.locator('#state-failure pre').textContent()) ?? '';
    expect(cause).toContain('cass002');
    expect(cause).toMatch(/resource: /);
    expect(cause).toMatch(/hint: /);
    await expect(page.locator('#failure-banner').textContent()).resolves.toContain(record.failure?.state);
    if (process.env.CAPI_CONSOLE_SCREENSHOT === '1') {
      await page.locator('svg.graph .node.blamed').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ROOT, 'docs', 'console-failed-run.png') });
    }
    expect(pageErrors).toEqual([]);
  });

  it('stops a running execution from the page, as Ctrl-C stops a CLI run', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'capi-console-stop-'));
    const server = await consoleIn(dir);
    servers.push(server);
    const execution = await createFromPage(page, server);

    // Act
    await page.locator('#stop').click();
    await page.locator('#execution-status.status-ABORTED').waitFor({ timeout: 60_000 });

    // Assess
    expect(loadExecution(dir, execution)?.status).toBe('ABORTED');
    await expect(page.locator('#resume').textContent()).resolves.toContain('Resume create');
    expect(() => lockStateDir(dir, 'create sample')()).not.toThrow();
  });

  it('draws a 128-node deployment with a 25,000-event history quickly (measured, not asserted)', async () => {
    // Prepare: the sample's record, its poll loops visited 25 times as often, for a 128-node spec.
    const template = loadExecution(stateDir, 'sample')!;
    const spec = { ...JSON.parse(SAMPLE), name: 'big', cassandraNodes: 100, daemons: 28 };
    mkdirSync(join(stateDir, 'deployments'), { recursive: true });
    writeFileSync(join(stateDir, 'deployments', 'big.json'), JSON.stringify(spec));
    const counts = new Map<string, number>();
    for (const step of template.steps) counts.set(step.name, (counts.get(step.name) ?? 0) + 1);
    const steps: StepRecord[] = template.steps.flatMap((step) =>
      (counts.get(step.name) ?? 0) > 3 ? Array.from({ length: 25 }, () => ({ ...step })) : [{ ...step }],
    );
    const historyEvents = steps.reduce((sum, step) => sum + (step.type === 'Task' ? 5 : 2), 0);
    const name = 'create-big-20261124T010203Z';
    const big: ExecutionRecord = {
      ...template,
      execution: name,
      deployment: 'big',
      steps,
      metrics: { ...template.metrics, historyEvents },
    };
    writeFileSync(join(stateDir, 'executions', `${name}.json`), JSON.stringify(big));
    const server = servers[0];
    await page.goto(`${server.url}`);

    // Act
    const started = Date.now();
    await page.goto(`${server.origin}/#/d/big`);
    const graph = page.locator(`svg.graph[data-execution="${name}"]`);
    await graph.waitFor();
    const graphMs = Date.now() - started;
    const inPage = await graph.getAttribute('data-render-ms');
    const clicked = Date.now();
    await page.locator('svg.graph .node[data-state="Check installs"]').click();
    await page.locator('#state-name', { hasText: 'Check installs' }).waitFor();
    const panelMs = Date.now() - clicked;
    const timelineStarted = Date.now();
    await page.frameLocator('#timeline').locator('#timeline .bar').first().waitFor({ timeout: 60_000 });
    const timelineMs = Date.now() - timelineStarted;

    // Assess
    expect(historyEvents).toBeGreaterThanOrEqual(25_000);
    await expect(page.locator('svg.graph .node').count()).resolves.toBeGreaterThan(80);
    console.log(
      `console render (${steps.length} steps, ${historyEvents} history events, 128 nodes): graph ${graphMs} ms ` +
        `from navigation (${inPage} ms in the page), state panel ${panelMs} ms, timeline frame ${timelineMs} ms more`,
    );
    expect(pageErrors).toEqual([]);
  });
});
