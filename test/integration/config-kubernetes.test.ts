// Overrides from the Kubernetes API: the edge reads one ConfigMap key and watches it, against a stand-in
// that speaks the documented watch protocol. Edits apply through the watch (polling is set to an hour), a
// dropped watch resumes from its resourceVersion, 410 Gone relists, bad content keeps the last good limits,
// and when the watch cannot connect the edge falls back to polling with GET.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startKubernetesApi } from '../helpers/kubernetes-api.js';
import type { KubernetesApiStandIn } from '../helpers/kubernetes-api.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

const KEY = 'overrides.yaml';
const limit = (n: number) => ({ [KEY]: `overrides:\n  team-k:\n    max_series_per_request: ${n}\n` });

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function setUp(pollInterval = '1h'): Promise<{ edge: EdgeUnderTest; k8s: KubernetesApiStandIn }> {
  const dir = mkdtempSync(join(tmpdir(), 'config-k8s-'));
  const k8s = await startKubernetesApi(dir, 'mimir', 'mimir-runtime', limit(5));
  stops.push(() => k8s.close());
  const upstream = await startRecordingUpstream();
  stops.push(() => upstream.close());
  // KubeConfig.loadFromDefault() reads KUBECONFIG, as it would outside a pod.
  process.env.KUBECONFIG = k8s.kubeconfigPath;
  const edge = await startEdge(upstream.url, {
    OVERRIDES_FILE: '',
    OVERRIDES_CONFIGMAP: 'mimir/mimir-runtime',
    OVERRIDES_RELOAD_INTERVAL: pollInterval,
  });
  stops.push(() => edge.stop());
  return { edge, k8s };
}

async function push(edge: EdgeUnderTest, series: number): Promise<number> {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-encoding': 'snappy', 'x-scope-orgid': 'team-k' },
    body: snappyBody(manySeries(series, 1)),
  });
  await res.body.dump();
  return res.statusCode;
}

async function limitInForce(edge: EdgeUnderTest): Promise<number> {
  const res = await request(`${edge.adminUrl}/api/tenants/team-k`, { headers: edge.adminHeaders });
  return ((await res.body.json()) as { limits: { max_series_per_request: number } }).limits
    .max_series_per_request;
}

/** Waits until the edge has a watch open, so what a test does next happens to a live watch. */
async function watchOpen(k8s: KubernetesApiStandIn): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (k8s.openWatches() === 0) {
    if (Date.now() > deadline) throw new Error('the edge never opened a watch');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function metricsText(edge: EdgeUnderTest): Promise<string> {
  return (await request(edge.metricsUrl)).body.text();
}

/** Waits for the edge to enforce `n` (the change travels over a socket; bounded wait). */
async function eventually(edge: EdgeUnderTest, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await limitInForce(edge)) !== n) {
    if (Date.now() > deadline)
      throw new Error(`the edge still enforces ${await limitInForce(edge)}, not ${n}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('overrides from a ConfigMap through the Kubernetes API', () => {
  it('starts from a GET and applies edits through the watch, as versions from the configmap source', async () => {
    const { edge, k8s } = await setUp();
    expect(await limitInForce(edge)).toBe(5);
    expect(await push(edge, 6)).toBe(400);
    await watchOpen(k8s);
    const getsAfterStart = k8s.gets();
    k8s.setData(limit(50));
    await eventually(edge, 50);
    expect(await push(edge, 6)).toBe(200);
    // Delivered by the watch, not by another GET.
    expect(k8s.gets()).toBe(getsAfterStart);
    expect(k8s.watchRequests[0]).toMatchObject({ fieldSelector: 'metadata.name=mimir-runtime' });
    const versions = (await (
      await request(`${edge.adminUrl}/api/config/versions`, { headers: edge.adminHeaders })
    ).body.json()) as { versions: { source: string; reason: string }[] };
    expect(versions.versions[0]).toMatchObject({ source: 'configmap' });
    expect(versions.versions[0]!.reason).toContain('mimir/mimir-runtime');
  });

  it('resumes a dropped watch from its resourceVersion and misses no edit', async () => {
    const { edge, k8s } = await setUp();
    await watchOpen(k8s);
    const watchesBefore = k8s.watchRequests.length;
    const gets = k8s.gets();
    k8s.dropWatches();
    k8s.setData(limit(7));
    await eventually(edge, 7);
    const resumed = k8s.watchRequests.slice(watchesBefore);
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    // The resume names the last version seen, so the edit made while disconnected is replayed.
    expect(Number(resumed[0]!.resourceVersion)).toBeGreaterThan(0);
    // ...and nothing had to be read again.
    expect(k8s.gets()).toBe(gets);
  });

  it('relists after 410 Gone and applies what changed meanwhile', async () => {
    const { edge, k8s } = await setUp();
    await watchOpen(k8s);
    const gets = k8s.gets();
    k8s.dropWatches();
    k8s.setData(limit(9));
    k8s.compact();
    await eventually(edge, 9);
    expect(k8s.gets()).toBeGreaterThan(gets);
  });

  it('refuses bad content and keeps the last good limits, then takes the next good content', async () => {
    const { edge, k8s } = await setUp();
    await eventually(edge, 5);
    k8s.setData({ [KEY]: 'overrides:\n  team-k:\n    max_series_per_request: -3\n' });
    // The refusal is counted where an alert would see it.
    const deadline = Date.now() + 10_000;
    while (!/rls_overrides_reloads_total\{result="error"\} [1-9]/.test(await metricsText(edge))) {
      if (Date.now() > deadline) throw new Error('the refused ConfigMap content was never reported');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await limitInForce(edge)).toBe(5);
    expect(await push(edge, 6)).toBe(400);
    k8s.setData(limit(11));
    await eventually(edge, 11);
  });

  it('falls back to polling with GET while the watch cannot connect', async () => {
    const { edge, k8s } = await setUp('200ms');
    await watchOpen(k8s);
    k8s.failWatches = true;
    k8s.dropWatches();
    k8s.setData(limit(13));
    await eventually(edge, 13);
    expect(k8s.watchRequests.length).toBeGreaterThan(1);
  });
});
