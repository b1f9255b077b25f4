// The admin UI in a real browser when Mimir's overrides come from a Kubernetes ConfigMap (a stand-in API
// server speaking the watch protocol) and STATE_DIR is not set: the System page names the ConfigMap and says
// runtime changes are lost at restart; a ConfigMap edit appears as a "system" version; content Mimir would
// refuse shows as the last error while the last good limits stay in force.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { EDGE_ADMIN_TOKEN, startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startKubernetesApi } from '../helpers/kubernetes-api.js';
import type { KubernetesApiStandIn } from '../helpers/kubernetes-api.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { repoRoot } from '../helpers/service.js';

const ARTIFACTS = join(repoRoot, 'test-artifacts', 'admin-ui');
const KEY = 'runtime.yaml';
const limit = (n: number) => ({ [KEY]: `overrides:\n  team-k:\n    max_series_per_request: ${n}\n` });

let k8s: KubernetesApiStandIn;
let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  const executablePath = requireDebianBinary('chromium', 'chromium');
  const dir = mkdtempSync(join(tmpdir(), 'admin-ui-k8s-'));
  k8s = await startKubernetesApi(dir, 'mimir', 'mimir-runtime', limit(5));
  upstream = await startRecordingUpstream();
  // KubeConfig.loadFromDefault() reads KUBECONFIG, as it would outside a pod.
  process.env.KUBECONFIG = k8s.kubeconfigPath;
  edge = await startEdge(upstream.url, {
    OVERRIDES_FILE: '',
    OVERRIDES_CONFIGMAP: 'mimir/mimir-runtime',
    OVERRIDES_CONFIGMAP_KEY: KEY,
    OVERRIDES_RELOAD_INTERVAL: '1h',
  });
  ({ context, page } = await launchChromium(executablePath, {
    profile: 'chromium-profile-',
    viewport: { width: 1280, height: 900 },
  }));
  await page.goto(`${edge.adminUrl}/ui/`);
  await page.getByLabel('Admin token').fill(EDGE_ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
});

afterAll(async () => {
  await context?.close();
  await edge?.stop();
  await upstream?.close();
  await k8s?.close();
});

/** Waits until the edge has a watch open, so an edit reaches it through the watch. */
async function watchOpen(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (k8s.openWatches() === 0) {
    if (Date.now() > deadline) throw new Error('the edge never opened a watch');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('admin UI with a ConfigMap source', () => {
  it('names the ConfigMap and says runtime changes are not kept without STATE_DIR', async () => {
    await watchOpen();
    await page.getByRole('link', { name: 'System', exact: true }).click();
    await page
      .getByTestId('limits-source')
      .filter({ hasText: 'ConfigMap mimir/mimir-runtime key runtime.yaml (watching)' })
      .waitFor();
    await expect(page.getByTestId('persistence').textContent()).resolves.toContain(
      'STATE_DIR is not set: runtime limits, versions and the audit log live in memory',
    );
    await expect(page.getByTestId('system-status').textContent()).resolves.toBe('ok');
  }, 60_000);

  it('shows a ConfigMap edit as a system version, and refused content as the last error', async () => {
    k8s.setData(limit(7));
    await page.getByRole('link', { name: 'Config', exact: true }).click();
    const newest = page.getByTestId('versions').locator('tbody tr').first();
    await newest.filter({ hasText: 'system via overrides-configmap' }).waitFor();
    await expect(newest.textContent()).resolves.toContain('ConfigMap');
    const n = Number(await newest.getAttribute('data-version'));
    await page.getByRole('button', { name: `show version ${n}` }).click();
    await expect(
      page
        .getByTestId('version-diff')
        .locator('tr[data-setting="team-k/max_series_per_request"]')
        .textContent(),
    ).resolves.toContain('5 → 7');

    k8s.setData({ [KEY]: 'overrides:\n  team-k:\n    max_series_per_request: [not a number\n' });
    await page.getByRole('link', { name: 'System', exact: true }).click();
    await page.getByTestId('system-status').filter({ hasText: 'degraded' }).waitFor();
    await expect(page.getByTestId('limits-source-error').textContent()).resolves.toContain(
      'the last good limits stay in force',
    );
    await expect(page.getByTestId('config-version').textContent()).resolves.toBe(String(n));
    await page.screenshot({ path: join(ARTIFACTS, '20-system-configmap-error.png'), fullPage: true });
  }, 60_000);
});
