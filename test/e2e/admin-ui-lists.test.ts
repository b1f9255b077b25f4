// The Lists page in a real browser (Debian's chromium driven by playwright-core) against the real service
// with a policy set whose block list is read from a FireHOL-style file, runtime changes shared through a real
// redis-server. A viewer sees the lists and the entries read-only, and the filter finds the file's range
// covering an address; an operator adds an address (with a reason), the edge then refuses that client, a bad
// entry is refused with the API's 400 text naming it, and removing the entry lets the client through again.
// A list file refused on reload shows its bad line; with Redis gone the page shows the 503 saying the change
// cannot be taken now. The page does not scroll sideways at 1440×900 nor at phone width. Screenshots are
// kept under test-artifacts/admin-ui-lists/.

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
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { repoRoot } from '../helpers/service.js';

const VIEWER = 'lists-viewer-token-0123456789';
const OPERATOR = 'lists-operator-token-0123456789';
const ARTIFACTS = join(repoRoot, 'test-artifacts', 'admin-ui-lists');
const CLIENT = '198.51.100.77';
const NETSET = [
  '# FireHOL-style netset',
  '192.0.2.0/24',
  '203.0.113.0/24 # documentation range',
  '2001:db8:bad::/48',
  '',
].join('\n');
const POLICIES = `
lists:
  - name: bad-nets
    kind: ip
    action: block
    file: lists/bad-nets.netset
  - name: partners
    kind: tenant
    action: allow
    entries: [team-partner]
  - name: hosting
    kind: ip
    class: datacenter
    file: lists/hosting.txt
policies:
  - name: per-ip
    match: { scope: ip }
    limit: { algorithm: token_bucket, rate: 1000, burst: 1000 }
`;

let listsDir: string;
let redis: RedisServer;
let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let context: BrowserContext;
let page: Page;

async function proxyGet(from: string): Promise<number> {
  const res = await request(`${edge.proxyUrl}/home`, { headers: { 'x-forwarded-for': from } });
  await res.body.dump();
  return res.statusCode;
}

async function listSize(): Promise<number> {
  const res = await request(`${edge.adminUrl}/api/lists/bad-nets?limit=1`, {
    headers: { authorization: `Bearer ${OPERATOR}` },
  });
  return ((await res.body.json()) as { size: number }).size;
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Horizontal overflow of the page in px (0 when nothing scrolls sideways). */
const overflow = (): Promise<number> =>
  page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');

async function login(token: string): Promise<void> {
  await page.goto(`${edge.adminUrl}/ui/lists`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
}

const entryRow = (entry: string) =>
  page.locator(`table[data-testid="entries"] tbody tr[data-entry="${entry}"]`);

beforeAll(async () => {
  const executablePath = requireDebianBinary('chromium', 'chromium');
  if (!existsSync(join(repoRoot, 'ui', 'dist', 'index.html')))
    execFileSync('npm', ['run', 'build:ui'], { cwd: repoRoot, stdio: 'pipe', timeout: 120_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'admin-ui-lists-'));
  listsDir = join(dir, 'lists');
  mkdirSync(listsDir);
  writeFileSync(join(dir, 'lists', 'bad-nets.netset'), NETSET);
  // 2,500 ranges: 10.0.0.0/24 … 10.9.195.0/24, more than one page.
  const hosting = Array.from({ length: 2500 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  writeFileSync(join(dir, 'lists', 'hosting.txt'), hosting.join('\n') + '\n');
  writeFileSync(join(dir, 'policies.yaml'), POLICIES);
  writeFileSync(
    join(dir, 'tokens.yaml'),
    [
      `- { name: vic, token: ${VIEWER}, role: viewer }`,
      `- { name: olga, token: ${OPERATOR}, role: operator }`,
      '',
    ].join('\n'),
  );
  redis = await startRedisServer();
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {
    ADMIN_TOKEN: '',
    ADMIN_TOKENS_FILE: join(dir, 'tokens.yaml'),
    POLICY_FILE: join(dir, 'policies.yaml'),
    TRUSTED_PROXIES: '127.0.0.1',
    REDIS_ADDRESS: redis.address,
    REDIS_KEY_PREFIX: 'ui-lists:',
    POLICY_RELOAD_INTERVAL: '200ms',
  });
  ({ context, page } = await launchChromium(executablePath, {
    profile: 'chromium-lists-',
    viewport: { width: 1440, height: 900 },
  }));
}, 60_000);

afterAll(async () => {
  await context?.close();
  await edge?.stop();
  await upstream?.close();
  await redis?.stop();
});

describe('admin UI: allow and block lists', () => {
  it('shows a viewer the lists and entries read-only, and the filter finds the range covering an address', async () => {
    await login(VIEWER);
    const row = page.locator('table[data-testid="lists"] tbody tr[data-list="bad-nets"]');
    await row.waitFor();
    const text = (await row.textContent())!;
    expect(text).toContain('ip');
    expect(text).toContain('block');
    expect(text).toContain('bad-nets.netset');
    expect(text).toContain('3 from the file');
    expect(text).toContain('no runtime changes');
    expect(text).toContain('through Redis');
    expect(text).toContain('shared version 0');
    const partners = (await page.locator('tr[data-list="partners"]').textContent())!;
    expect(partners).toContain('tenant');
    expect(partners).toContain('allow');
    expect(partners).toContain('policy set only');

    // The first list is shown: its entries in the file's order, canonical.
    await entryRow('203.0.113.0/24').waitFor();
    await expect(page.getByTestId('page-position').textContent()).resolves.toBe('1–3 of 3');
    await expect(page.getByTestId('filter-scope').textContent()).resolves.toContain('checks the whole list');
    await page.getByLabel('Filter entries').fill('192.0.2.9');
    await expect
      .poll(() => page.getByTestId('filter-result').textContent())
      .toBe('192.0.2.9 is covered by 1 entry loaded.');
    await expect(page.locator('table[data-testid="entries"] tbody tr').count()).resolves.toBe(1);
    await entryRow('192.0.2.0/24').waitFor();
    await page.getByLabel('Filter entries').fill('');

    // Read-only: a hint, no entry box, no Remove button.
    await page.getByTestId('read-only').waitFor();
    await expect(page.getByLabel(/Entries to add/).count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: /^Remove / }).count()).resolves.toBe(0);
    expect(await overflow(), '/lists scrolls sideways at 1440 px').toBeLessThanOrEqual(1);

    // A list longer than a page: paged, and the filter says it checks only the page loaded.
    await page.getByRole('button', { name: 'Show entries of hosting' }).click();
    await entryRow('10.0.0.0/24').waitFor();
    expect(page.url()).toContain('/ui/lists?list=hosting');
    await expect(page.locator('tr[data-list="hosting"]').textContent()).resolves.toContain('datacenter');
    await expect(page.getByTestId('page-position').textContent()).resolves.toBe('1–100 of 2,500');
    await expect(page.getByTestId('filter-scope').textContent()).resolves.toContain(
      'checks only the entries loaded (1–100), not the whole list',
    );
    await page.getByLabel('Filter entries').fill('10.0.144.9');
    await expect
      .poll(() => page.getByTestId('filter-result').textContent())
      .toBe('No entry loaded covers 10.0.144.9.');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.getByTestId('page-position').textContent()).toBe('101–200 of 2,500');
    await expect
      .poll(() => page.getByTestId('filter-result').textContent())
      .toBe('10.0.144.9 is covered by 1 entry loaded.');
    await entryRow('10.0.144.0/24').waitFor();
    await page.getByLabel('Entries per page').selectOption('10000');
    await expect.poll(() => page.getByTestId('page-position').textContent()).toBe('1–2,500 of 2,500');
    await expect(page.getByTestId('filter-scope').textContent()).resolves.toContain('checks the whole list');
    expect(await overflow(), '/lists scrolls sideways at 1440 px').toBeLessThanOrEqual(1);

    // The other list, through its link: the URL names it.
    await page.getByRole('button', { name: 'Show entries of partners' }).click();
    await entryRow('team-partner').waitFor();
    expect(page.url()).toContain('/ui/lists?list=partners');
    await shot('01-viewer');
    await page.getByRole('button', { name: 'Log out' }).click();
  }, 60_000);

  it('lets an operator add an address the edge then refuses, shows a 400 naming a bad entry, and remove it', async () => {
    expect(await proxyGet(CLIENT)).toBe(200);
    await login(OPERATOR);
    await page.getByRole('link', { name: 'Lists', exact: true }).click();
    await entryRow('192.0.2.0/24').waitFor();

    const add = page.getByRole('button', { name: /^Add / });
    await page.getByLabel(/Entries to add to bad-nets/).fill(`${CLIENT}\n${CLIENT}`);
    // No reason yet: nothing can be sent.
    await expect(add.isDisabled()).resolves.toBe(true);
    await page.getByLabel(/Reason for the change/).fill('INC-7: scraping the login page');
    await expect(add.textContent()).resolves.toBe('Add 1 entry');
    await add.click();
    await page
      .getByRole('status')
      .filter({ hasText: `Added 1 entry to bad-nets (${CLIENT}): version` })
      .waitFor();
    await entryRow(CLIENT).filter({ hasText: 'added at runtime' }).waitFor();
    expect(await proxyGet(CLIENT)).toBe(403);
    expect(await listSize()).toBe(4);
    const listRow = page.locator('tr[data-list="bad-nets"]');
    await expect.poll(() => listRow.textContent()).toContain('+1 added at runtime');
    await expect(listRow.textContent()).resolves.toContain('shared version 1');
    await shot('02-added');

    // A bad entry: the API's 400 names it, and nothing changed.
    await page.getByLabel(/Entries to add to bad-nets/).fill('192.0.2.200\nnope');
    await page.getByRole('button', { name: 'Add 2 entries' }).click();
    const refused = page.getByRole('alert').filter({ hasText: 'Refused, nothing changed (400)' });
    await refused.waitFor();
    await expect(refused.textContent()).resolves.toContain(
      'entries[1]: "nope" is not an IPv4 or IPv6 address',
    );
    expect(await listSize()).toBe(4);

    await page.getByRole('button', { name: `Remove ${CLIENT}` }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Removed 1 entry from bad-nets (${CLIENT})` })
      .waitFor();
    await entryRow(CLIENT).waitFor({ state: 'detached' });
    expect(await proxyGet(CLIENT)).toBe(200);
    expect(await listSize()).toBe(3);

    // Both changes are audited with the operator's name and reason.
    const res = await request(`${edge.adminUrl}/api/audit`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    const { entries } = (await res.body.json()) as {
      entries: { action: string; actor: string; reason: string | null }[];
    };
    const listChanges = entries.filter((e) => e.action.startsWith('list.entries.'));
    expect(listChanges.map((e) => e.action).sort()).toEqual(['list.entries.add', 'list.entries.remove']);
    for (const e of listChanges)
      expect(e).toMatchObject({ actor: 'olga', reason: 'INC-7: scraping the login page' });
    expect(await overflow(), '/lists scrolls sideways at 1440 px').toBeLessThanOrEqual(1);
    // At phone width too, with the editor: wide tables scroll inside their box, never the page.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    expect(await overflow(), '/lists scrolls sideways at 390 px').toBeLessThanOrEqual(1);
    await shot('04-phone');
    await page.setViewportSize({ width: 1440, height: 900 });
  }, 60_000);

  it('shows a list file refused on reload, with the bad line, while its last good entries stay in force', async () => {
    const bad = Array.from({ length: 2499 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    writeFileSync(join(listsDir, 'hosting.txt'), [...bad, '10.9.999.0/24', ''].join('\n'));
    const row = page.locator('tr[data-list="hosting"]');
    await expect
      .poll(() => row.textContent(), { timeout: 15_000 })
      .toMatch(
        /refused at .*last good entries kept: .*hosting\.txt:2500: "10\.9\.999\.0" is not an IPv4 or IPv6 address/,
      );
    await expect(row.getByTestId('list-size').textContent()).resolves.toContain('2,500 from the file');
    await shot('03-file-refused');
  }, 60_000);

  it('shows the 503 when Redis cannot take a change, and nothing changed', async () => {
    await redis.kill();
    await page.getByLabel(/Entries to add to bad-nets/).fill(CLIENT);
    await page.getByRole('button', { name: 'Add 1 entry' }).click();
    const refused = page
      .getByRole('alert')
      .filter({ hasText: 'Redis cannot take the change now (503), try again in 5 s' });
    await refused.waitFor({ timeout: 20_000 });
    await expect(refused.textContent()).resolves.toMatch(/nothing changed on any replica/);
    expect(await proxyGet(CLIENT)).toBe(200);
    expect(await listSize()).toBe(3);
    await shot('05-redis-down');
  }, 60_000);
});
