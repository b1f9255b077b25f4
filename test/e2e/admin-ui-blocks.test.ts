// The Blocks page in a real browser (Debian's chromium driven by playwright-core): a client the login
// policy refuses twice is blocked at the proxy; a viewer sees the block but no Unblock button; an
// operator clicks Unblock with a reason, the client passes again, and the Audit log page shows the lift
// with the operator's name and reason. Screenshots are kept under test-artifacts/admin-ui-blocks/.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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

const VIEWER = 'ui-viewer-token-0123456789';
const OPERATOR = 'ui-operator-token-0123456789';
const ARTIFACTS = join(repoRoot, 'test-artifacts', 'admin-ui-blocks');
const CLIENT = '198.51.100.77';
const POLICIES = `
policies:
  - name: login
    match: { scope: ip, path: /login }
    limit: { algorithm: fixed_window, limit: 1, window: 1h }
    penalty: { after: 2, window: 1m, durations: [10m, 1h] }
`;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let context: BrowserContext;
let page: Page;

async function proxyGet(path: string): Promise<number> {
  const res = await request(`${edge.proxyUrl}${path}`, { headers: { 'x-forwarded-for': CLIENT } });
  await res.body.dump();
  return res.statusCode;
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function login(token: string): Promise<void> {
  await page.goto(`${edge.adminUrl}/ui/blocks`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
}

beforeAll(async () => {
  const executablePath = requireDebianBinary('chromium', 'chromium');
  if (!existsSync(join(repoRoot, 'ui', 'dist', 'index.html')))
    execFileSync('npm', ['run', 'build:ui'], { cwd: repoRoot, stdio: 'pipe', timeout: 120_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'admin-ui-blocks-'));
  writeFileSync(join(dir, 'policies.yaml'), POLICIES);
  writeFileSync(
    join(dir, 'tokens.yaml'),
    [
      `- { name: vic, token: ${VIEWER}, role: viewer }`,
      `- { name: olga, token: ${OPERATOR}, role: operator }`,
      '',
    ].join('\n'),
  );
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {
    ADMIN_TOKEN: '',
    ADMIN_TOKENS_FILE: join(dir, 'tokens.yaml'),
    POLICY_FILE: join(dir, 'policies.yaml'),
    TRUSTED_PROXIES: '127.0.0.1',
  });
  ({ context, page } = await launchChromium(executablePath, {
    profile: 'chromium-profile-',
    viewport: { width: 1280, height: 900 },
  }));
}, 60_000);

afterAll(async () => {
  await context?.close();
  await edge?.stop();
  await upstream?.close();
});

describe('admin UI: penalty blocks', () => {
  it('shows a viewer the block without an Unblock button', async () => {
    expect(await proxyGet('/login')).toBe(200);
    expect(await proxyGet('/login')).toBe(429);
    expect(await proxyGet('/login')).toBe(429);
    expect(await proxyGet('/home')).toBe(403);

    await login(VIEWER);
    const row = page.locator('table[data-testid="blocks"] tbody tr');
    await row.filter({ hasText: CLIENT }).waitFor();
    await expect(row.count()).resolves.toBe(1);
    const text = await row.textContent();
    expect(text).toContain('login');
    expect(text).toContain('2 denials within 1m');
    await expect(page.getByRole('button', { name: /Unblock/ }).count()).resolves.toBe(0);
    await shot('01-viewer');
    await page.getByRole('button', { name: 'Log out' }).click();
  }, 60_000);

  it('lets an operator unblock the client, which then passes, and the Audit log shows the lift', async () => {
    await login(OPERATOR);
    await page.locator('table[data-testid="blocks"] tbody tr').filter({ hasText: CLIENT }).waitFor();
    await page.getByLabel('Reason for lifting').fill('customer fixed their retry loop');
    await shot('02-operator');
    await page.getByRole('button', { name: `Unblock ${CLIENT}` }).click();
    await page.getByRole('status').filter({ hasText: 'Lifted the block' }).waitFor();
    await page.getByText('No identity is blocked now.').waitFor();
    expect(await proxyGet('/home')).toBe(200);

    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    const entry = page
      .locator('table[data-testid="audit"] tbody tr')
      .filter({ hasText: 'policy.block.lift' });
    await entry.waitFor();
    const text = await entry.textContent();
    expect(text).toContain('olga');
    expect(text).toContain('customer fixed their retry loop');
    expect(text).toContain(CLIENT);
    await shot('03-audit');
  }, 60_000);
});
