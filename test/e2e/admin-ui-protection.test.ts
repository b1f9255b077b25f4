// The System page's adaptive protection card in a real browser (Debian's chromium): an operator sees the mode,
// the ceiling and why it last moved, switches observe → enforce with a reason, and the switch reaches the
// service (GET /api/protection) and the audit log; a viewer sees the card without the switch.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { repoRoot } from '../helpers/service.js';

const OPERATOR = 'protection-operator-token-0123456789';
const VIEWER = 'protection-viewer-token-0123456789';

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let context: BrowserContext;
let page: Page;

async function logIn(token: string): Promise<void> {
  await page.goto(`${edge.adminUrl}/ui/`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
}

beforeAll(async () => {
  const executablePath = requireDebianBinary('chromium', 'chromium');
  if (!existsSync(join(repoRoot, 'ui', 'dist', 'index.html')))
    execFileSync('npm', ['run', 'build:ui'], { cwd: repoRoot, stdio: 'pipe', timeout: 120_000 });
  upstream = await startRecordingUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'edge-protection-ui-'));
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(
    tokens,
    `- {name: olga, token: ${OPERATOR}, role: operator}\n- {name: vic, token: ${VIEWER}, role: viewer}\n`,
  );
  edge = await startEdge(upstream.url, {
    ADMIN_TOKENS_FILE: tokens,
    ADAPTIVE_PROTECTION: 'observe',
    ADAPTIVE_MAX_CEILING: '64',
  });
  ({ context, page } = await launchChromium(executablePath, {
    profile: 'chromium-protection-',
    viewport: { width: 1440, height: 900 },
  }));
});

afterAll(async () => {
  await context?.close();
  await edge?.stop();
  await upstream?.close();
});

it('shows adaptive protection and lets an operator switch it, audited; a viewer only sees it', async () => {
  await logIn(OPERATOR);
  await page.goto(`${edge.adminUrl}/ui/system`);
  const card = page.getByTestId('protection');
  await card.getByTestId('protection-mode').filter({ hasText: 'observe' }).waitFor();
  await expect(card.getByTestId('protection-ceiling').textContent()).resolves.toContain(
    '64 writes in flight',
  );
  await expect(card.getByTestId('protection-shed').textContent()).resolves.toBe('nothing');

  await page.getByLabel('new protection mode').selectOption('enforce');
  await page.getByLabel('protection change reason').fill('ui e2e: shed for real');
  await page.getByRole('button', { name: 'Switch protection' }).click();
  await card.getByTestId('protection-mode').filter({ hasText: 'enforce' }).waitFor();
  await card.getByRole('status').filter({ hasText: 'Adaptive protection is now enforce' }).waitFor();

  const auth = { authorization: `Bearer ${OPERATOR}` };
  const state = (await (await request(`${edge.adminUrl}/api/protection`, { headers: auth })).body.json()) as {
    mode: string;
  };
  expect(state.mode).toBe('enforce');
  const audit = (await (
    await request(`${edge.adminUrl}/api/audit?limit=10`, { headers: auth })
  ).body.json()) as {
    entries: { action: string; actor: string; reason: string | null; after: unknown }[];
  };
  expect(audit.entries.find((e) => e.action === 'protection.mode.update')).toMatchObject({
    actor: 'olga',
    reason: 'ui e2e: shed for real',
    after: { mode: 'enforce' },
  });

  // A viewer sees the card but no switch; the API refuses the switch too.
  await context.clearCookies();
  await page.evaluate('localStorage.clear(); sessionStorage.clear()');
  await logIn(VIEWER);
  await page.goto(`${edge.adminUrl}/ui/system`);
  await card.getByTestId('protection-mode').filter({ hasText: 'enforce' }).waitFor();
  await expect(page.getByLabel('new protection mode').count()).resolves.toBe(0);
  const refused = await request(`${edge.adminUrl}/api/protection`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VIEWER}`, 'content-type': 'application/json' },
    body: JSON.stringify({ mode: 'off' }),
  });
  await refused.body.dump();
  expect(refused.statusCode).toBe(403);
  const bad = await request(`${edge.adminUrl}/api/protection`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ mode: 'panic' }),
  });
  expect(bad.statusCode).toBe(400);
  const problem = (await bad.body.json()) as { error: string };
  expect(problem.error).toContain('must be one of "off", "observe", "enforce"');
}, 60_000);
