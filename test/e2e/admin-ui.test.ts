// The admin UI in a real browser (Debian's chromium driven by playwright-core) against the real service
// under generated remote-write load: an operator logs in, finds a tenant, lowers its limit through the
// diff confirmation, and sees denials for it in the UI and at the proxy; a viewer cannot edit.
// Screenshots are kept under test-artifacts/admin-ui/.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDebianBinary } from '../helpers/debian.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { repoRoot } from '../helpers/service.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

const VIEWER = 'ui-viewer-token-0123456789';
const OPERATOR = 'ui-operator-token-0123456789';
const ARTIFACTS = join(repoRoot, 'test-artifacts', 'admin-ui');
const TENANTS = ['team-a', 'team-b', 'team-c'];

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let context: BrowserContext;
let page: Page;
let loadTimer: ReturnType<typeof setInterval> | undefined;
let sent = 0;

async function push(tenant: string, series = 20): Promise<number> {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-encoding': 'snappy', 'x-scope-orgid': tenant },
    body: snappyBody(manySeries(series, 5)),
  });
  await res.body.dump();
  return res.statusCode;
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function login(token: string): Promise<void> {
  await page.goto(`${edge.adminUrl}/ui/`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
}

beforeAll(async () => {
  const executablePath = requireDebianBinary('chromium', 'chromium');
  if (!existsSync(join(repoRoot, 'ui', 'dist', 'index.html')))
    execFileSync('npm', ['run', 'build:ui'], { cwd: repoRoot, stdio: 'pipe', timeout: 120_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'admin-ui-'));
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(
    tokens,
    `- { name: vic, token: ${VIEWER}, role: viewer }\n- { name: olga, token: ${OPERATOR}, role: operator }\n`,
  );
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, { ADMIN_TOKEN: '', ADMIN_TOKENS_FILE: tokens });
  // Generated load: every tenant writes 20 samples every 100 ms (at most 3,000 requests in all).
  loadTimer = setInterval(() => {
    if (sent >= 3000) return;
    for (const t of TENANTS) {
      sent++;
      void push(t).catch(() => undefined);
    }
  }, 100);
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'chromium-profile-')), {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  if (loadTimer) clearInterval(loadTimer);
  await context?.close();
  await edge?.stop();
  await upstream?.close();
});

describe('admin UI', () => {
  it('refuses a wrong token and lets an operator in to live figures', async () => {
    await page.goto(`${edge.adminUrl}/ui/`);
    await page.getByLabel('Admin token').fill('wrong-token-wrong-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('refused');

    await login(OPERATOR);
    await page.getByText('requests/s').first().waitFor();
    await page.getByText('team-a').first().waitFor();
    await expect(page.getByText('olga (operator)').isVisible()).resolves.toBe(true);
    await shot('01-overview');
  }, 60_000);

  it('lets the operator find a tenant, lower its limit through a diff, and then shows its denials', async () => {
    await page.getByRole('link', { name: 'Tenants', exact: true }).click();
    await page.getByLabel('Search tenants').fill('team-b');
    await page.locator('tr[data-tenant="team-b"]').waitFor();
    await expect(page.locator('tr[data-tenant]').count()).resolves.toBe(1);
    await shot('02-tenants-search');
    await page.locator('tr[data-tenant="team-b"]').getByRole('link', { name: 'team-b' }).click();

    await page.getByTestId('tenant-id').filter({ hasText: 'team-b' }).waitFor();
    await page.getByLabel('new ingestion_rate').fill('-5');
    await page.getByText('ingestion_rate: must be 0 or more').waitFor();
    await page.getByLabel('new ingestion_rate').fill('1');
    await page.getByLabel('new ingestion_burst_size').fill('10');
    await page.getByRole('button', { name: /Review limit changes \(2\)/ }).click();
    const diff = page.getByTestId('diff');
    await expect(diff.textContent()).resolves.toContain('ingestion_rate 10000 → 1');
    await expect(diff.textContent()).resolves.toContain('ingestion_burst_size 200000 → 10');
    await shot('03-limit-diff');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Limits of team-b changed').waitFor();

    // At the proxy: team-b's next write is refused, others still pass.
    expect(await push('team-b')).toBe(429);
    expect(await push('team-a')).toBe(200);

    // In the UI: denials for team-b appear on its page (the page refreshes itself).
    await page.getByTestId('tenant-denied-reasons').filter({ hasText: 'ingestion_rate' }).waitFor();
    const denied = Number((await page.getByTestId('tenant-denied').textContent()) ?? '0');
    expect(denied).toBeGreaterThan(0);
    await shot('04-tenant-denied');

    await page.getByRole('link', { name: 'Denials', exact: true }).click();
    await page.getByTestId('recent-denials').getByText('team-b').first().waitFor();
    await shot('05-denials');

    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByTestId('audit').getByText('olga (operator)').first().waitFor();
  }, 60_000);

  it('shows a viewer the limits but no way to change them, and the API refuses a viewer write', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await login(VIEWER);
    await page.goto(`${edge.adminUrl}/ui/tenants/team-a`);
    await page.getByTestId('read-only').waitFor();
    await expect(page.getByLabel('new ingestion_rate').isDisabled()).resolves.toBe(true);
    await expect(page.getByLabel('enforce this tenant').isDisabled()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: /Review limit changes/ }).isDisabled()).resolves.toBe(true);
    await shot('06-viewer-read-only');
    const status = await page.evaluate(async (token) => {
      const res = await fetch('/api/tenants/team-a/limits', {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ limits: { ingestion_rate: 1 } }),
      });
      return res.status;
    }, VIEWER);
    expect(status).toBe(403);
    expect(await push('team-a')).toBe(200);
  }, 60_000);

  it('works at phone width without the page scrolling sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${edge.adminUrl}/ui/tenants`);
    await page.locator('tr[data-tenant="team-a"]').waitFor();
    // Runs in the page; the test's own tsconfig has no DOM types.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(1);
    await shot('07-phone-tenants');
    await page.goto(`${edge.adminUrl}/ui/`);
    await page.getByText('requests/s').first().waitFor();
    await shot('08-phone-overview');
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 60_000);

  it('serves the UI with secure headers', async () => {
    const res = await request(`${edge.adminUrl}/ui/tenants`);
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(String(res.headers['content-security-policy'])).toContain("script-src 'self'");
    expect(String(res.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
  });
});
