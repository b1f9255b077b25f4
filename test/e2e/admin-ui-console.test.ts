// The operator's console in a real browser (Debian's chromium driven by playwright-core) against the real
// service under remote-write load, one tenant throttled far below what it sends. It asserts behaviours, not
// pixels: charts with y-axis ticks and units, a tooltip with the exact time and values, the still-filling
// bucket not drawn as zero, the tenant's limit as a line; accepted and rejected samples/s apart; denials
// grouped; the range in the URL across reloads and pages; no sideways scrolling at 1440×900; a reason
// required for a limit change; an unknown tenant's notice; the wiki's numbered lists; no CSP violation.

import { existsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { repoRoot } from '../helpers/service.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const OPERATOR = 'console-operator-token-0123456789';
const ARTIFACTS = join(repoRoot, 'test-artifacts', 'admin-ui-console');

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let context: BrowserContext;
let page: Page;
let loadTimer: ReturnType<typeof setInterval> | undefined;
let sent = 0;
const consoleProblems: string[] = [];

/** Horizontal overflow of the page in px (0 when nothing scrolls sideways). */
const overflow = (): Promise<number> =>
  page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');

beforeAll(async () => {
  const executablePath = requireDebianBinary('chromium', 'chromium');
  if (!existsSync(join(repoRoot, 'ui', 'dist', 'index.html')))
    execFileSync('npm', ['run', 'build:ui'], { cwd: repoRoot, stdio: 'pipe', timeout: 120_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  upstream = await startRecordingUpstream();
  edge = await startEdge(
    upstream.url,
    { ADMIN_TOKEN: OPERATOR, ACTIVE_SERIES_ENABLED: 'true' },
    'overrides:\n  throttled:\n    ingestion_rate: 50\n    ingestion_burst_size: 100\n',
  );
  // Load: "steady" and "throttled" each write 100 samples every 100 ms; "throttled" may take 50/s, so most
  // of its requests are denied and its sender keeps retrying (at most 2,400 requests in all).
  const body = snappyBody(manySeries(100, 4));
  loadTimer = setInterval(() => {
    if (sent >= 2400) return;
    for (const t of ['steady', 'throttled']) {
      sent++;
      void pushRemoteWrite(edge.proxyUrl, t, body).catch(() => undefined);
    }
  }, 100);
  ({ context, page } = await launchChromium(executablePath, {
    profile: 'chromium-console-',
    viewport: { width: 1440, height: 900 },
  }));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleProblems.push(m.text());
  });
  await page.goto(`${edge.adminUrl}/ui/`);
  await page.getByLabel('Admin token').fill(OPERATOR);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  // Let a few 1 s buckets of the overall series fill.
  await new Promise((resolve) => setTimeout(resolve, 3000));
});

afterAll(async () => {
  if (loadTimer) clearInterval(loadTimer);
  await context?.close();
  await edge?.stop();
  await upstream?.close();
});

describe('operator console', () => {
  it('draws charts with y-axis ticks and units, bucket width, a tooltip, and no cliff at the live edge', async () => {
    await page.goto(`${edge.adminUrl}/ui/?range=1m`);
    const requests = page.getByTestId('chart-requests');
    await requests.locator('canvas').waitFor();
    const yAxis = requests.locator('[data-axis="y"]');
    await expect.poll(async () => yAxis.textContent()).toMatch(/y axis \(req\/s\): \d/);
    await expect(requests.locator('[data-axis="x"]').textContent()).resolves.toMatch(/\d{2}:\d{2}/);
    await expect(
      page.getByTestId('chart-samples').locator('[data-axis="y"]').textContent(),
    ).resolves.toContain('samples/s');
    await expect(requests.locator('figcaption').textContent()).resolves.toContain('per 1 s bucket');
    // The legend shows the newest finished bucket: under steady load it is never "allowed 0".
    await expect.poll(async () => requests.locator('figcaption').textContent()).toMatch(/allowed [1-9]/);
    // Hover: the tooltip names the bucket's time and the exact values.
    const over = requests.locator('.u-over');
    const box = (await over.boundingBox())!;
    // A few seconds before the right edge: finished buckets with traffic (the service started seconds ago).
    await page.mouse.move(box.x + box.width * 0.96, box.y + box.height / 2);
    const tip = requests.getByRole('tooltip');
    await tip.waitFor();
    await expect(tip.textContent()).resolves.toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z.*allowed: [\d.]+/);
    await page.screenshot({ path: join(ARTIFACTS, '01-overview.png'), fullPage: true });
  });

  it('shows accepted and rejected samples/s apart: the throttled tenant does not top accepted samples', async () => {
    await page.goto(`${edge.adminUrl}/ui/?range=5m`);
    const top = page.locator('section.card').filter({ hasText: 'Top by accepted samples/s' });
    await expect.poll(async () => top.locator('li').first().textContent()).toContain('steady');
    const rejected = page.locator('section.card').filter({ hasText: 'Top by rejected samples/s' });
    await expect.poll(async () => rejected.locator('li').first().textContent()).toContain('throttled');

    await page.goto(`${edge.adminUrl}/ui/tenants/throttled?range=5m`);
    await page.getByTestId('tenant-accepted').waitFor();
    await expect
      .poll(async () =>
        Number((await page.getByTestId('tenant-rejected').textContent())!.replace(/k$/, '000')),
      )
      .toBeGreaterThan(100);
    const accepted = Number(await page.getByTestId('tenant-accepted').textContent());
    // 50/s plus the initial burst of 100 over a few seconds of history: far below the 1,000/s offered.
    expect(accepted).toBeLessThanOrEqual(100);
    // Its samples chart carries its ingestion_rate as a line, and it is flagged as retrying.
    await expect(page.getByTestId('chart-samples').locator('figcaption').textContent()).resolves.toContain(
      'ingestion_rate limit 50',
    );
    await page.getByTestId('retry-storm').waitFor();
  });

  it('groups denials by tenant, reason and message, with a count, linking to the tenant', async () => {
    await page.goto(`${edge.adminUrl}/ui/denials`);
    const groups = page.getByTestId('denial-groups');
    await groups.waitFor();
    const rows = groups.locator('tbody tr[data-group-tenant="throttled"]');
    await expect(rows.count()).resolves.toBe(1);
    await expect
      .poll(async () => Number((await rows.locator('td.count').textContent())!.replace(/k$/, '000')))
      .toBeGreaterThan(20);
    // One row per cause: the page stays short however many denials there were.
    const height = await page.evaluate<number>('document.documentElement.scrollHeight');
    expect(height).toBeLessThan(3000);
    await page.screenshot({ path: join(ARTIFACTS, '02-denials.png'), fullPage: true });
    await rows.getByRole('link', { name: 'throttled' }).click();
    await page.getByTestId('tenant-id').filter({ hasText: 'throttled' }).waitFor();
  });

  it('keeps the range in the URL: it survives a reload and follows the operator across pages', async () => {
    await page.goto(`${edge.adminUrl}/ui/tenants`);
    const picker = page.getByRole('group', { name: 'Time range' });
    await expect(picker.locator('button.active').textContent()).resolves.toBe('15m');
    await picker.getByRole('button', { name: '1h' }).click();
    await expect.poll(() => page.url()).toContain('range=1h');
    await page.reload();
    await expect(
      page.getByRole('group', { name: 'Time range' }).locator('button.active').textContent(),
    ).resolves.toBe('1h');
    await page.getByRole('link', { name: 'Denials', exact: true }).click();
    await expect.poll(() => page.url()).toContain('/ui/denials?range=1h');
    await expect(
      page.getByRole('group', { name: 'Time range' }).locator('button.active').textContent(),
    ).resolves.toBe('1h');
    await page.getByRole('group', { name: 'Time range' }).getByRole('button', { name: '15m' }).click();
  });

  it('does not scroll sideways at 1440×900 on any page, and the limits editor fits', async () => {
    for (const path of [
      '/',
      '/tenants',
      '/tenants/throttled',
      '/denials',
      '/cardinality',
      '/active-series',
      '/system',
      '/config',
      '/audit',
      '/blocks',
      '/lists',
      '/wiki',
    ]) {
      await page.goto(`${edge.adminUrl}/ui${path}`);
      await page.locator('.page h2').first().waitFor();
      await page.waitForTimeout(400);
      expect(await overflow(), `${path} scrolls sideways at 1440 px`).toBeLessThanOrEqual(1);
    }
    await page.goto(`${edge.adminUrl}/ui/tenants`);
    await page.locator('tr[data-tenant="throttled"]').waitFor();
    const tenantsFit = await page.evaluate<number>(
      "(() => { const w = document.querySelector('table.tenants').closest('.table-wrap'); return w.scrollWidth - w.clientWidth; })()",
    );
    expect(tenantsFit, 'the tenants table scrolls inside its box').toBeLessThanOrEqual(1);
    await page.goto(`${edge.adminUrl}/ui/tenants/throttled`);
    const table = page.locator('table.limits');
    await table.waitFor();
    const fits = await page.evaluate<number>(
      "(() => { const w = document.querySelector('table.limits').closest('.table-wrap'); return w.scrollWidth - w.clientWidth; })()",
    );
    expect(fits, 'the limits table scrolls inside its box').toBeLessThanOrEqual(1);
    // The editor's rows render after the tenant's limits arrive: wait for the row rather than sample it once.
    await page.getByLabel('enforce ingestion_rate').waitFor({ state: 'visible', timeout: 10_000 });
    await expect(page.getByLabel('enforce ingestion_rate').isVisible()).resolves.toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, '03-tenant.png'), fullPage: true });
  });

  it('lists the steady tenant on the Active series page and shows its card on the tenant page', async () => {
    await page.goto(`${edge.adminUrl}/ui/active-series`);
    const table = page.locator('[data-testid="active-series-table"]');
    await table.waitFor();
    await expect(table.locator('tr', { hasText: 'steady' }).count()).resolves.toBe(1);
    await page.goto(`${edge.adminUrl}/ui/tenants/steady`);
    const card = page.locator('[data-testid="active-series"]');
    await card.waitFor();
    await expect(card.textContent()).resolves.toContain('max_global_series_per_user');
  });

  it('asks a reason for every limit change and shows it in the audit log', async () => {
    await page.goto(`${edge.adminUrl}/ui/tenants/steady`);
    await page.getByLabel('new max_series_per_request').fill('5000');
    await page.getByRole('button', { name: /Review limit changes \(1\)/ }).click();
    const apply = page.getByRole('dialog').getByRole('button', { name: 'Apply' });
    await expect(apply.isDisabled()).resolves.toBe(true);
    await page.getByLabel('change reason').fill('   ');
    await expect(apply.isDisabled()).resolves.toBe(true);
    await page.getByLabel('change reason').fill('INC-42: cap batch size');
    await apply.click();
    await page.getByText('Limits of steady changed').waitFor();
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByTestId('audit').getByText('INC-42: cap batch size').first().waitFor();
  });

  it('says a tenant was never seen and is not configured instead of showing an empty editor', async () => {
    await page.goto(`${edge.adminUrl}/ui/tenants/nobody-sends-this`);
    const notice = page.getByTestId('unknown-tenant');
    await notice.waitFor();
    await expect(notice.textContent()).resolves.toContain('has never been seen and is not configured');
    await expect(page.locator('table.limits').count()).resolves.toBe(0);
    await notice.getByRole('button', { name: /Set limits for nobody-sends-this/ }).click();
    await page.locator('table.limits').waitFor();
  });

  it('renders the wiki with a real Markdown parser: numbered lists, tables, docs links', async () => {
    await page.goto(`${edge.adminUrl}/ui/wiki`);
    const article = page.getByTestId('wiki-article');
    await article.locator('ol > li').first().waitFor();
    await expect(article.locator('ol > li').first().textContent()).resolves.toContain('Open');
    await expect(article.locator('.table-wrap > table').count()).resolves.toBeGreaterThan(0);
    await article.locator('a[data-wiki-page="admin-api"]').first().click();
    await page.getByRole('button', { name: 'admin-api' }).and(page.locator('.active')).waitFor();
  });

  it('answers /favicon.ico without a 401 and raises no CSP violation or other console error', async () => {
    const res = await request(`${edge.adminUrl}/favicon.ico`);
    await res.body.dump();
    expect(res.statusCode).not.toBe(401);
    expect(consoleProblems.filter((m) => /Content Security Policy|Refused to/i.test(m))).toEqual([]);
    expect(consoleProblems).toEqual([]);
  });
});
