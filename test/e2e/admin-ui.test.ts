// The admin UI in a real browser (Debian's chromium driven by playwright-core) against the real service
// under generated remote-write load: an operator logs in, finds a tenant, lowers its limit through the
// diff confirmation, and sees denials for it in the UI and at the proxy; switches the service to dry-run and
// back; finds the change as a version on the Config page and rolls it back, after which the tenant's limit
// and the proxy are as before. A viewer cannot edit or roll back; an admin imports with a dry-run preview.
// Screenshots are kept under test-artifacts/admin-ui/.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { manySeries, snappyBody } from '../helpers/write-request.js';

const VIEWER = 'ui-viewer-token-0123456789';
const OPERATOR = 'ui-operator-token-0123456789';
const ADMIN = 'ui-admin-token-0123456789';
const ARTIFACTS = join(repoRoot, 'test-artifacts', 'admin-ui');
const TENANTS = ['team-a', 'team-b', 'team-c'];

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let context: BrowserContext;
let page: Page;
let loadTimer: ReturnType<typeof setInterval> | undefined;
let sent = 0;
let stateDir: string;
/** The version the operator's limit change on team-b made. */
let loweredVersion = 0;

async function push(tenant: string, series = 20): Promise<number> {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-encoding': 'snappy', 'x-scope-orgid': tenant },
    body: snappyBody(manySeries(series, 5)),
  });
  await res.body.dump();
  return res.statusCode;
}

/** The admin API as a script sees it, to compare with what the UI shows. */
async function apiGet<T>(path: string, token = OPERATOR): Promise<T> {
  const res = await request(`${edge.adminUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.statusCode, `GET ${path}`).toBe(200);
  return (await res.body.json()) as T;
}

/** Pushes until one write passes (refill takes a few ms after a limit is raised); the last status otherwise. */
async function pushUntilAccepted(tenant: string, withinMs: number): Promise<number> {
  const end = Date.now() + withinMs;
  let status = await push(tenant);
  while (status !== 200 && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    status = await push(tenant);
  }
  return status;
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
    [
      `- { name: vic, token: ${VIEWER}, role: viewer }`,
      `- { name: olga, token: ${OPERATOR}, role: operator }`,
      `- { name: ada, token: ${ADMIN}, role: admin }`,
      '',
    ].join('\n'),
  );
  stateDir = join(dir, 'state');
  upstream = await startRecordingUpstream();
  // team-c has a limit in Mimir's overrides, so the first version is an automatic (system) one.
  edge = await startEdge(
    upstream.url,
    // A short probe interval so the Overview shows the upstream's health within the first test.
    { ADMIN_TOKEN: '', ADMIN_TOKENS_FILE: tokens, STATE_DIR: stateDir, UPSTREAM_HEALTH_INTERVAL: '300ms' },
    'overrides:\n  team-c:\n    max_label_names_per_series: 40\n',
  );
  // Generated load: every tenant writes 20 samples every 100 ms (at most 3,000 requests in all).
  loadTimer = setInterval(() => {
    if (sent >= 3000) return;
    for (const t of TENANTS) {
      sent++;
      void push(t).catch(() => undefined);
    }
  }, 100);
  ({ context, page } = await launchChromium(executablePath, {
    profile: 'chromium-profile-',
    viewport: { width: 1280, height: 900 },
  }));
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
    // The upstream's health is the probe's real GET /ready, not just its address.
    await page.getByTestId('upstream-status').filter({ hasText: 'up' }).waitFor();
    await expect(page.getByTestId('upstream-summary').textContent()).resolves.toMatch(/^up · checked .* ms$/);
    expect(upstream.requests.some((r) => r.method === 'GET' && r.url === '/ready')).toBe(true);
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
    // Every limit change says why; the reason goes to the audit log.
    await expect(page.getByRole('button', { name: 'Apply' }).isDisabled()).resolves.toBe(true);
    await page.getByLabel('change reason').fill('e2e: throttle team-b');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Limits of team-b changed').waitFor();
    loweredVersion = (await apiGet<{ current: number }>('/api/config/versions')).current;

    // At the proxy: team-b's next write is refused, others still pass.
    expect(await push('team-b')).toBe(429);
    expect(await push('team-a')).toBe(200);

    // In the UI: denials for team-b appear on its page (the page refreshes itself).
    await page.getByTestId('tenant-denied-reasons').filter({ hasText: 'ingestion_rate' }).waitFor();
    const denied = Number((await page.getByTestId('tenant-denied').textContent()) ?? '0');
    expect(denied).toBeGreaterThan(0);
    await shot('04-tenant-denied');

    await page.getByRole('link', { name: 'Denials', exact: true }).click();
    await page.getByTestId('denial-groups').getByText('team-b').first().waitFor();
    await shot('05-denials');

    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByTestId('audit').getByText('olga (operator)').first().waitFor();
  }, 60_000);

  it('shows the config version, the overrides file and STATE_DIR on the System page, and switches the mode', async () => {
    await page.getByRole('link', { name: 'System', exact: true }).click();
    await expect(page.getByTestId('config-version').textContent()).resolves.toBe(String(loweredVersion));
    await expect(page.getByTestId('last-change').textContent()).resolves.toContain('olga');
    await expect(page.getByTestId('limits-source').textContent()).resolves.toContain(edge.overridesFile);
    await expect(page.getByTestId('limits-source-error').textContent()).resolves.toBe('none');
    const persistence = page.getByTestId('persistence');
    await expect(persistence.textContent()).resolves.toContain(stateDir);
    await expect(persistence.textContent()).resolves.toContain(
      'saved: every change so far survives a restart',
    );
    await expect(page.getByTestId('mode').textContent()).resolves.toBe('enforce');
    // Without Redis the replicas do not know each other: this process alone, marked, with its admin address.
    const replicaRows = page.getByTestId('replica-row');
    await expect(replicaRows.count()).resolves.toBe(1);
    await expect(replicaRows.first().getAttribute('data-self')).resolves.toBe('true');
    await expect(replicaRows.first().textContent()).resolves.toContain(edge.adminUrl.replace('http://', ''));
    await expect(page.getByTestId('replicas').textContent()).resolves.toContain('No REDIS_ADDRESS');
    await expect(page.getByTestId('upstream-health').getAttribute('data-status')).resolves.toBe('up');

    // Dry-run: team-b is still over its limit, but its writes are forwarded.
    await page.getByLabel('new enforcement mode').selectOption('dry-run');
    await page.getByLabel('enforcement change reason').fill('e2e: observe only');
    await page.getByRole('button', { name: 'Review mode change' }).click();
    await page.getByRole('dialog').getByText('Switch the whole service from enforce to dry-run?').waitFor();
    await shot('06-mode-confirm');
    await page.getByRole('button', { name: 'Switch to dry-run' }).click();
    await page.getByTestId('mode').filter({ hasText: 'dry-run' }).waitFor();
    expect(await push('team-b')).toBe(200);

    await page.getByLabel('new enforcement mode').selectOption('enforce');
    await page.getByRole('button', { name: 'Review mode change' }).click();
    await page.getByRole('button', { name: 'Switch to enforce' }).click();
    await page.getByTestId('mode').filter({ hasText: 'enforce' }).waitFor();
    expect(await push('team-b')).toBe(429);
    await shot('07-system');
  }, 60_000);

  it('lists the limit change as a version, rolls it back after a dry-run diff, and the tenant and proxy follow', async () => {
    await page.getByRole('link', { name: 'Config', exact: true }).click();
    const newest = page.getByTestId('versions').locator('tbody tr').first();
    await expect(newest.getAttribute('data-version')).resolves.toBe(String(loweredVersion));
    await expect(newest.textContent()).resolves.toContain('olga');
    await expect(newest.textContent()).resolves.toContain('admin API');
    await expect(newest.textContent()).resolves.toContain('team-b');
    // The first version is the overrides file read at start: made by the system, not by a person.
    const first = page.locator('tr[data-version="1"]');
    await expect(first.textContent()).resolves.toContain('system via overrides-file');
    await expect(first.textContent()).resolves.toContain('overrides file');

    await page.getByRole('button', { name: `show version ${loweredVersion}` }).click();
    const versionDiff = page.getByTestId('version-diff');
    await expect(versionDiff.locator('tr[data-setting="team-b/ingestion_rate"]').textContent()).resolves.toBe(
      'team-bruntime limitsingestion_rateunset → 1',
    );
    // Its own version is in force: nothing to roll back to.
    await expect(
      page.getByRole('button', { name: `Roll back to version ${loweredVersion}` }).isDisabled(),
    ).resolves.toBe(true);
    await shot('08-config-version');

    const previous = loweredVersion - 1;
    await page.getByRole('button', { name: `show version ${previous}` }).click();
    await page.getByRole('button', { name: `Roll back to version ${previous}` }).click();
    const dry = page.getByTestId('rollback-diff');
    await expect(dry.locator('tr[data-setting="team-b/ingestion_rate"]').textContent()).resolves.toContain(
      '1 → unset',
    );
    await expect(
      dry.locator('tr[data-setting="team-b/ingestion_burst_size"]').textContent(),
    ).resolves.toContain('10 → unset');
    await expect(dry.locator('tbody tr').count()).resolves.toBe(2);
    await shot('09-rollback-confirm');
    // The dry run changed nothing: team-b is still refused.
    expect(await push('team-b')).toBe(429);
    await page.getByLabel('rollback reason').fill('e2e: undo team-b change');
    await page.getByRole('button', { name: 'Apply rollback' }).click();
    await page
      .getByText(`Rolled back to version ${previous}: version ${loweredVersion + 1} is in force`)
      .waitFor();
    const rolled = page.getByTestId('versions').locator('tbody tr').first();
    await rolled.filter({ hasText: 'e2e: undo team-b change' }).waitFor();
    await expect(rolled.textContent()).resolves.toContain('rollback');

    // The proxy enforces the previous limits again: a 100-sample write could never pass a burst of 10.
    expect(await pushUntilAccepted('team-b', 2000)).toBe(200);

    // The tenant's page shows its limit back at the default.
    await page.goto(`${edge.adminUrl}/ui/tenants/team-b`);
    const rate = page.locator('tr[data-limit="ingestion_rate"]');
    await rate.locator('td.in-force').filter({ hasText: '10.0k' }).waitFor();
    await expect(rate.locator('td.source').textContent()).resolves.toBe('default');
    await shot('10-tenant-after-rollback');

    // The audit log shows the rollback with its source and diff, and the file load as "system".
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    const rollbackEntry = page
      .getByTestId('audit')
      .locator('tbody > tr')
      .filter({ hasText: 'config.rollback' });
    await expect(rollbackEntry.textContent()).resolves.toContain('olga (operator)');
    await expect(rollbackEntry.textContent()).resolves.toContain('rollback');
    await expect(
      rollbackEntry.locator('[data-setting="team-b/ingestion_rate"]').textContent(),
    ).resolves.toContain('1 → unset');
    const fileEntry = page.getByTestId('audit').locator('tbody > tr').filter({ hasText: 'overrides.reload' });
    await expect(fileEntry.locator('.badge.system').textContent()).resolves.toBe('system');
    await expect(fileEntry.textContent()).resolves.toContain('overrides file');
    await shot('11-audit');
  }, 60_000);

  it('exports the configuration in force as YAML, and leaves import to admins', async () => {
    await page.getByRole('link', { name: 'Config', exact: true }).click();
    const current = (await apiGet<{ current: number }>('/api/config/versions')).current;
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: `Export YAML (version ${current})` }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`limits-v${current}.yaml`);
    const text = readFileSync((await download.path())!, 'utf8');
    expect(text).toContain(`config version ${current}`);
    expect(text).toMatch(/overrides:\n {2}team-c:\n {4}max_label_names_per_series: 40/);
    await expect(page.getByTestId('import-blocked').textContent()).resolves.toContain('needs the admin role');
  }, 60_000);

  it('shows a viewer the limits but no way to change them, and the API refuses a viewer write', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await login(VIEWER);
    await page.goto(`${edge.adminUrl}/ui/tenants/team-a`);
    await page.getByTestId('read-only').waitFor();
    await expect(page.getByLabel('new ingestion_rate').isDisabled()).resolves.toBe(true);
    await expect(page.getByLabel('enforce this tenant').isDisabled()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: /Review limit changes/ }).isDisabled()).resolves.toBe(true);
    await shot('05b-viewer-read-only');
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

    await page.getByRole('link', { name: 'Config', exact: true }).click();
    const before = (await apiGet<{ current: number }>('/api/config/versions', VIEWER)).current;
    await page.getByRole('button', { name: `show version ${loweredVersion}` }).click();
    await expect(
      page.getByRole('button', { name: `Roll back to version ${loweredVersion}` }).isDisabled(),
    ).resolves.toBe(true);
    await expect(page.getByTestId('rollback-blocked').textContent()).resolves.toContain(
      'needs the operator role',
    );
    await shot('12-viewer-config');
    const rollback = await request(`${edge.adminUrl}/api/config/rollback/${loweredVersion}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VIEWER}`, 'content-type': 'application/json' },
      body: '{}',
    });
    await rollback.body.dump();
    expect(rollback.statusCode).toBe(403);
    expect((await apiGet<{ current: number }>('/api/config/versions', VIEWER)).current).toBe(before);
    // team-b's limits were not rolled forward to the lowered ones.
    expect(await push('team-b')).toBe(200);

    await page.getByRole('link', { name: 'System', exact: true }).click();
    await page.getByTestId('mode-read-only').waitFor();
    await expect(page.getByLabel('new enforcement mode').count()).resolves.toBe(0);
  }, 60_000);

  it('lets an admin preview an import, then apply it as a new version the tenant page shows', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await login(ADMIN);
    await page.getByRole('link', { name: 'Config', exact: true }).click();
    const before = (await apiGet<{ current: number }>('/api/config/versions', ADMIN)).current;
    const yaml = page.getByLabel('Configuration YAML');
    await yaml.fill('runtime:\n  limits:\n    team-c:\n      max_label_names_per_series: -1\n');
    await page.getByRole('button', { name: 'Preview import (dry run)' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'runtime.limits.team-c.max_label_names_per_series',
    );

    await yaml.fill('runtime:\n  limits:\n    team-c:\n      max_label_names_per_series: 35\n');
    await page.getByRole('button', { name: 'Preview import (dry run)' }).click();
    const preview = page.getByTestId('import-diff');
    await expect(
      preview.locator('tr[data-setting="team-c/max_label_names_per_series"]').textContent(),
    ).resolves.toContain('unset → 35');
    // A preview changes nothing.
    expect((await apiGet<{ current: number }>('/api/config/versions', ADMIN)).current).toBe(before);
    await shot('13-import-preview');

    await page.getByLabel('import reason').fill('e2e: import');
    await page.getByRole('button', { name: 'Apply import' }).click();
    await page.getByText(`Imported: version ${before + 1} is in force`).waitFor();
    const newest = page.getByTestId('versions').locator('tbody tr').first();
    await newest.filter({ hasText: 'e2e: import' }).waitFor();
    await expect(newest.textContent()).resolves.toContain('import');

    await page.goto(`${edge.adminUrl}/ui/tenants/team-c`);
    const row = page.locator('tr[data-limit="max_label_names_per_series"]');
    await row.locator('td.in-force').filter({ hasText: '35' }).waitFor();
    await expect(row.locator('td.source').textContent()).resolves.toBe('set here (runtime)');
  }, 60_000);

  it('works at phone width without the page scrolling sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${edge.adminUrl}/ui/tenants`);
    await page.locator('tr[data-tenant="team-a"]').waitFor();
    // Runs in the page; the test's own tsconfig has no DOM types.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(1);
    await shot('14-phone-tenants');
    await page.goto(`${edge.adminUrl}/ui/config`);
    await page.getByTestId('versions').waitFor();
    const configOverflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - window.innerWidth',
    );
    expect(configOverflow).toBeLessThanOrEqual(1);
    await shot('15-phone-config');
    await page.goto(`${edge.adminUrl}/ui/system`);
    await page.getByTestId('replicas').waitFor();
    const systemOverflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - window.innerWidth',
    );
    expect(systemOverflow, 'the System page (replicas table) scrolls sideways at 390 px').toBeLessThanOrEqual(
      1,
    );
    await page.goto(`${edge.adminUrl}/ui/`);
    await page.getByText('requests/s').first().waitFor();
    await shot('16-phone-overview');
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
