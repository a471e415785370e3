import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../src/report/html.js';
import { loadMachineShape } from '../../src/report/machine.js';
import { buildRows, flattenRows } from '../../src/report/rows.js';
import { CHROMIUM, requireTool, skipWithout } from '../tools.js';
import { failedCreate, hostileCause } from './fixtures.js';

/**
 * Opens the HTML report in a real headless Chromium (the Debian package; CI installs it in .ci/run). Skipped with a
 * notice where Chromium is absent, failed instead under CAPI_REQUIRE_TOOLS=1 (test/tools.ts).
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

const resources = [
  { type: 'natgateway', id: 'nat-0abc', name: 'sample_natgw', state: 'available', billed: true },
  { type: 'vpc', id: 'vpc-0abc', name: 'sample_vpc', state: 'available', billed: true },
];

describe.skipIf(skipWithout(CHROMIUM))('HTML report in Chromium', () => {
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const record = failedCreate({ ...hostileCause, resource: 'node cass002 <b>(capi-cassandra-install)</b>' });
  const expectedRows = flattenRows(buildRows(record, loadMachineShape(record.machine))).length;

  beforeAll(async () => {
    const executablePath = requireTool(CHROMIUM);
    const dir = mkdtempSync(join(tmpdir(), 'capi-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(
      file,
      renderHtmlReport(record, { resources, hourlyCost: { total: 0.09, currency: 'USD' }, generatedAt: 0 }),
    );
    browser = await chromium.launch({ executablePath, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('request', (request) => requests.push(request.url()));
    page.on('dialog', async (dialog) => {
      dialogs.push(dialog.message());
      await dialog.dismiss();
    });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(pathToFileURL(file).href);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the failed step with its state and resource', async () => {
    // Act
    const failed = page.locator('#failed-step');

    // Assess
    await expect(failed.isVisible()).resolves.toBe(true);
    await expect(failed.getAttribute('data-state')).resolves.toBe('Check installs');
    await expect(failed.locator('.state').textContent()).resolves.toBe('Check installs');
    await expect(failed.locator('dd.resource').textContent()).resolves.toBe(
      'node cass002 <b>(capi-cassandra-install)</b>',
    );
    await expect(failed.locator('dd.error').textContent()).resolves.toBe('CommandFailed');
  });

  it('draws one visible bar per collapsed step and marks the failed one', async () => {
    // Act
    const bars = page.locator('#timeline .bar');

    // Assess
    await expect(bars.count()).resolves.toBe(expectedRows);
    await expect(page.locator('.row[data-state="Check NAT gateway state"]').count()).resolves.toBe(1);
    const blamed = page.locator('#gantt-failed-step');
    await expect(blamed.getAttribute('data-state')).resolves.toBe('Check installs');
    await expect(blamed.locator('.bar').isVisible()).resolves.toBe(true);
    const box = await page.locator('.row[data-state="Check NAT gateway state"] .bar').boundingBox();
    const track = await page.locator('.row[data-state="Check NAT gateway state"] .track').boundingBox();
    expect(box!.width / track!.width).toBeCloseTo(120 / 215, 2);
  });

  it('runs no injected script and loads nothing but the file itself', async () => {
    // Assess
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(requests.every((url) => url.startsWith('file://'))).toBe(true);
    await expect(page.locator('#failed-step img').count()).resolves.toBe(0);
    await expect(page.locator('dd.message').textContent()).resolves.toContain(
      '<script>alert(document.cookie)</script>',
    );
  });

  it('hides the steps that went well when asked to show only problems', async () => {
    // Prepare
    const visibleRows = () => page.locator('#timeline .row:visible').count();
    const before = await visibleRows();

    // Act
    await page.locator('#problems-only').check();

    // Assess
    const after = await visibleRows();
    expect(after).toBeLessThan(before);
    await expect(page.locator('#gantt-failed-step').isVisible()).resolves.toBe(true);
    await expect(page.locator('.row[data-state="Launch instances"]').isVisible()).resolves.toBe(true);
    await expect(page.locator('.row[data-state="Create VPC"]').isVisible()).resolves.toBe(false);
  });
});
