// The Cost page and the burst badge in a real browser (Debian's chromium driven by playwright-core) against
// the real service: two tenants write, one steps to ten times its rate on a held clock, and the operator sees
// the burst on the Tenants list, the Overview and the tenant's page, the cost per tenant on the Cost page,
// and downloads the same CSV the API exports.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { EDGE_ADMIN_TOKEN, startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { repoRoot } from '../helpers/service.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const ARTIFACTS = join(repoRoot, 'test-artifacts', 'admin-ui-cost');
const STEADY = '-steady';
const BURSTY = 'team-burst';
const STEADY_BODY = snappyBody(manySeries(100, 4));
const BURST_BODY = snappyBody(manySeries(1000, 4));

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let context: BrowserContext;
let page: Page;
let clock = Date.UTC(2026, 0, 5, 12, 0, 0);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function step(burst: boolean): Promise<void> {
  await pushRemoteWrite(edge.proxyUrl, STEADY, STEADY_BODY);
  await pushRemoteWrite(edge.proxyUrl, BURSTY, burst ? BURST_BODY : STEADY_BODY);
  clock += 1000;
  await sleep(60);
}

beforeAll(async () => {
  const executablePath = requireDebianBinary('chromium', 'chromium');
  if (!existsSync(join(repoRoot, 'ui', 'dist', 'index.html')))
    execFileSync('npm', ['run', 'build:ui'], { cwd: repoRoot, stdio: 'pipe', timeout: 120_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  upstream = await startRecordingUpstream();
  edge = await startEdge(
    upstream.url,
    {
      COST_PRICE_PER_MILLION_SAMPLES: '2',
      COST_PRICE_PER_GIB: '0.5',
      COST_CURRENCY: 'EUR',
      BURST_WINDOW: '3s',
      BURST_BASELINE: '1h',
      BURST_WARMUP: '30s',
      BURST_MIN_RATE: '50',
      BURST_INTERVAL: '25ms',
    },
    'overrides: {}\n',
    () => clock,
  );
  for (let i = 0; i < 60; i++) await step(false);
  for (let i = 0; i < 10; i++) await step(true);
  ({ context, page } = await launchChromium(executablePath, {
    profile: 'chromium-cost-',
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
  }));
  await page.goto(`${edge.adminUrl}/ui/`);
  await page.getByLabel('Admin token').fill(EDGE_ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
}, 120_000);

afterAll(async () => {
  await context?.close();
  await edge?.stop();
  await upstream?.close();
});

describe('cost and bursts in the admin UI', () => {
  it('badges the bursting tenant on the Tenants list, the Overview and its own page', async () => {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Tenants' }).click();
    const bursty = page.locator(`tr[data-tenant="${BURSTY}"]`);
    await expect(bursty.getByTestId('burst-badge').textContent()).resolves.toMatch(/^burst ×\d/);
    await page.locator(`tr[data-tenant="${STEADY}"]`).waitFor();
    expect(await page.locator(`tr[data-tenant="${STEADY}"]`).getByTestId('burst-badge').count()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'tenants.png'), fullPage: true });

    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Overview' }).click();
    const bursting = page.getByTestId('overview-bursting');
    await bursting.getByRole('link', { name: BURSTY }).waitFor();
    expect(await bursting.getByRole('link', { name: STEADY }).count()).toBe(0);

    await page.goto(`${edge.adminUrl}/ui/tenants/${BURSTY}`);
    await expect(page.getByTestId('tenant-burst').textContent()).resolves.toContain('items/s');
  });

  it('shows the cost per tenant and downloads the CSV the API exports', async () => {
    await page.goto(`${edge.adminUrl}/ui/cost?range=1h`);
    const table = page.getByTestId('cost-table');
    await table.waitFor();
    const rows = table.locator('tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-tenant')))).toEqual([
      BURSTY,
      STEADY,
    ]);
    await expect(
      page.getByRole('heading', { name: /^Cost per tenant: .* EUR in 1h$/ }).count(),
    ).resolves.toBe(1);
    await page.getByTestId('bursting-now').getByRole('link', { name: BURSTY }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'cost.png'), fullPage: true });

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('cost-1h.csv');
    const file = join(ARTIFACTS, 'cost-1h.csv');
    await download.saveAs(file);
    const res = await request(`${edge.adminUrl}/api/cost?range=1h&format=csv`, {
      headers: edge.adminHeaders,
    });
    expect(readFileSync(file, 'utf8')).toBe(await res.body.text());
    expect(readFileSync(file, 'utf8')).toContain(`\r\n'${STEADY},1h,`);
  });
});
