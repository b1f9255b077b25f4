// `npm run screenshots`: regenerates docs/images/admin-ui-*.png, one per admin UI page at 1440×900, with
// live traffic. It starts the service in this process (the test helper's startEdge, on free 127.0.0.1
// ports), drives remote-write load from three tenants (one throttled far below what it sends, so it
// retries), makes one audited limit change, and photographs every page with Debian's chromium.
// Everything it starts it stops. Needs the UI built (the npm script runs build:ui first).

import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { request } from 'undici';
import { findBinary } from '../test/helpers/debian.js';
import { startEdge } from '../test/helpers/edge-service.js';
import { startRecordingUpstream } from '../test/helpers/recording-upstream.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../test/helpers/write-request.js';

const TOKEN = 'screenshots-admin-token-0123456789';
const OUT = fileURLToPath(new URL('../docs/images/', import.meta.url));
/** How long traffic runs before the first picture, so the 1 s and 15 s buckets have a history. */
const WARM_UP_MS = Number(process.env.SCREENSHOTS_WARM_UP_MS ?? 45_000);

const PAGES: [file: string, path: string, ready: string][] = [
  ['overview', '/?range=5m', '[data-testid="chart-samples"] canvas'],
  ['tenants', '/tenants?range=5m', 'tr[data-tenant="throttled"]'],
  ['tenant', '/tenants/throttled?range=5m', 'table.limits'],
  ['denials', '/denials?range=5m', '[data-testid="denial-groups"]'],
  ['series-per-request', '/cardinality?range=5m', 'table'],
  ['system', '/system', '[data-testid="replicas"]'],
  ['config', '/config', '[data-testid="versions"]'],
  ['audit', '/audit', '[data-testid="audit"]'],
  ['wiki', '/wiki', '[data-testid="wiki-article"] h1'],
];

async function main(): Promise<void> {
  const chromiumPath = findBinary('chromium');
  if (!chromiumPath) throw new Error('chromium is not installed: apt-get install chromium');
  mkdirSync(OUT, { recursive: true });
  const upstream = await startRecordingUpstream();
  const edge = await startEdge(
    upstream.url,
    { ADMIN_TOKEN: TOKEN },
    'overrides:\n  throttled:\n    ingestion_rate: 50\n    ingestion_burst_size: 100\n',
  );
  const bodies = { small: snappyBody(manySeries(40, 6)), large: snappyBody(manySeries(200, 8)) };
  // 40 items a request, 10 requests a second: 400/s offered against 50/s, so about one in eight passes.
  let tick = 0;
  // team-a steady, team-b slowly rising, throttled sending ~1,000 samples/s against a 50/s limit.
  const load = setInterval(() => {
    tick++;
    const send = (tenant: string, body: Buffer) =>
      void pushRemoteWrite(edge.proxyUrl, tenant, body).catch(() => undefined);
    send('team-a', bodies.small);
    if (tick % Math.max(1, 10 - Math.floor(tick / 60)) === 0) send('team-b', bodies.large);
    send('throttled', bodies.small);
  }, 100);
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'chromium-shots-')), {
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    viewport: { width: 1440, height: 900 },
  });
  try {
    const res = await request(`${edge.adminUrl}/api/tenants/team-b/limits`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ limits: { max_series_per_request: 5000 }, reason: 'INC-42: cap batch size' }),
    });
    await res.body.dump();
    console.log(`traffic for ${WARM_UP_MS / 1000} s before the first picture…`);
    await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${edge.adminUrl}/ui/`);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    for (const [file, path, ready] of PAGES) {
      await page.goto(`${edge.adminUrl}/ui${path}`);
      await page.locator(ready).first().waitFor({ timeout: 15_000 });
      await page.waitForTimeout(1500);
      const target = join(OUT, `admin-ui-${file}.png`);
      await page.screenshot({ path: target });
      console.log(`wrote ${target}`);
    }
  } finally {
    clearInterval(load);
    await context.close();
    await edge.stop();
    await upstream.close();
  }
}

await main();
