// Three service processes share one redis-server: a limit changed through one replica's admin API is shown and
// enforced by the other two within 1 s, under the same version number. With pub/sub refused (an ACL) the periodic
// re-read still delivers changes; after redis-server restarts empty, the replicas write the limits back.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, stopAllProcesses } from '../helpers/child-process.js';
import { sumMetric } from '../helpers/prometheus.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { repoRoot, startService } from '../helpers/service.js';
import type { ServiceInstance } from '../helpers/service.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const TOKEN = 'config-propagation-token';
const TENANT = 'team-p';
const SYNC_INTERVAL_MS = 2000;
const CONFIG_KEY = 'rls:{limits}:config';

let redis: RedisServer;
let upstream: RecordingUpstream;
let replicas: ServiceInstance[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startRecordingUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'config-propagation-'));
  writeFileSync(join(dir, 'overrides.yaml'), `overrides:\n  ${TENANT}:\n    max_series_per_request: 100\n`);
  // From source (tsx), so the test runs the code in this tree, not a stale build.
  replicas = await Promise.all(
    [0, 1, 2].map(() =>
      startService({
        upstreamUrl: upstream.url,
        overridesFile: join(dir, 'overrides.yaml'),
        entry: join(repoRoot, 'src', 'cli.ts'),
        logLevel: 'info',
        env: {
          NODE_OPTIONS: '--import tsx',
          REDIS_ADDRESS: redis.address,
          ADMIN_TOKEN: TOKEN,
          CONFIG_SYNC_INTERVAL: `${SYNC_INTERVAL_MS}ms`,
        },
        startTimeoutMs: 60_000,
      }),
    ),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await upstream?.close();
  await redis?.stop();
  await stopAllProcesses();
});

async function api(service: ServiceInstance, path: string, method: 'GET' | 'PUT' = 'GET', body?: unknown) {
  const res = await request(`${service.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

async function setSeriesLimit(service: ServiceInstance, value: number, reason: string): Promise<void> {
  const put = await api(service, `/api/tenants/${TENANT}/limits`, 'PUT', {
    limits: { max_series_per_request: value },
    reason,
  });
  expect(put.status, JSON.stringify(put.json)).toBe(200);
}

async function seriesLimit(service: ServiceInstance): Promise<number> {
  const tenant = (await api(service, `/api/tenants/${TENANT}`)).json as { limits: Record<string, number> };
  return tenant.limits.max_series_per_request!;
}

/** Polls every replica in `services` until its /api/tenants shows `value`; the time it took, or Infinity. */
async function timeUntilShown(
  services: ServiceInstance[],
  value: number,
  timeoutMs: number,
): Promise<number> {
  const start = performance.now();
  const pending = new Set(services);
  while (pending.size > 0 && performance.now() - start < timeoutMs) {
    for (const s of [...pending]) if ((await seriesLimit(s)) === value) pending.delete(s);
    if (pending.size > 0) await sleep(10);
  }
  return pending.size === 0 ? performance.now() - start : Infinity;
}

const push = (service: ServiceInstance, series: number): Promise<number> =>
  pushRemoteWrite(service.proxyUrl, TENANT, snappyBody(manySeries(series, 1)));

async function appliedBy(service: ServiceInstance, trigger: 'notification' | 'periodic'): Promise<number> {
  return sumMetric(await service.metrics(), 'rls_config_syncs_total', { trigger, result: 'applied' });
}

describe('limit changes reach every replica through Redis', () => {
  it('a PUT on replica A is shown and enforced by B and C within 1 s, as the same version', async () => {
    const [a, b, c] = replicas as [ServiceInstance, ServiceInstance, ServiceInstance];
    for (const r of replicas) expect(await push(r, 10), 'allowed before the change').toBe(200);
    const notified = await Promise.all([b, c].map((r) => appliedBy(r, 'notification')));

    await setSeriesLimit(a, 5, 'INC-1 propagation');
    const elapsed = await timeUntilShown([b, c], 5, 3000);
    console.log(`propagation A -> B, C: ${elapsed.toFixed(0)} ms after A answered the PUT`);
    expect(elapsed, 'B and C showed the new limit within 1 s of A answering').toBeLessThan(1000);
    for (const r of [b, c]) expect(await push(r, 10), 'denied by the new limit on another replica').toBe(400);
    const notifiedAfter = await Promise.all([b, c].map((r) => appliedBy(r, 'notification')));
    for (const i of [0, 1])
      expect(notifiedAfter[i], 'delivered by pub/sub, not the re-read').toBe(notified[i]! + 1);
    expect(await push(b, 5)).toBe(200);

    const versions = await Promise.all(replicas.map((r) => api(r, '/api/config/versions?limit=1')));
    const newest = versions.map(
      (v) => (v.json.versions as { version: number; actor: string; reason: string }[])[0],
    );
    expect(new Set(versions.map((v) => v.json.current)).size, 'one version number on all replicas').toBe(1);
    for (const v of newest) expect(v).toMatchObject({ reason: 'INC-1 propagation', actor: newest[0]!.actor });
    const metricVersions = await Promise.all(
      replicas.map(async (r) => sumMetric(await r.metrics(), 'rls_config_version')),
    );
    expect(new Set(metricVersions).size).toBe(1);
    expect(Number((await redis.cli('HGET', CONFIG_KEY, 'version')).trim())).toBe(metricVersions[0]);
  }, 30_000);

  it('with pub/sub refused, the periodic re-read delivers a change', async () => {
    const [a, b, c] = replicas as [ServiceInstance, ServiceInstance, ServiceInstance];
    const before = await Promise.all([b, c].map((r) => appliedBy(r, 'periodic')));
    // Redis 7 drops the subscribed connections and refuses SUBSCRIBE and PUBLISH on the channel from now on.
    await redis.cli('ACL', 'SETUSER', 'default', 'resetchannels');
    try {
      await sleep(300);
      await setSeriesLimit(a, 7, 'no pub/sub');
      const elapsed = await timeUntilShown([b, c], 7, SYNC_INTERVAL_MS + 2000);
      console.log(
        `propagation without pub/sub: ${elapsed.toFixed(0)} ms (re-read every ${SYNC_INTERVAL_MS} ms)`,
      );
      expect(elapsed, 'the re-read delivered the change within one interval').toBeLessThan(
        SYNC_INTERVAL_MS + 1000,
      );
      const after = await Promise.all([b, c].map((r) => appliedBy(r, 'periodic')));
      for (const i of [0, 1])
        expect(after[i], 'delivered by the periodic re-read').toBeGreaterThan(before[i]!);
      expect(await push(c, 8)).toBe(400);
    } finally {
      await redis.cli('ACL', 'SETUSER', 'default', 'allchannels');
    }
    // Subscribed again at the next re-read: changes are fast again.
    await sleep(SYNC_INTERVAL_MS + 500);
    await setSeriesLimit(b, 6, 'pub/sub back');
    expect(await timeUntilShown([a, c], 6, 3000)).toBeLessThan(1000);
  }, 30_000);

  it('after redis-server restarts empty, the limits are written back and changes propagate again', async () => {
    const [a, b, c] = replicas as [ServiceInstance, ServiceInstance, ServiceInstance];
    const current = (await api(a, '/api/config/versions?limit=1')).json.current as number;
    await redis.restart();
    const deadline = Date.now() + SYNC_INTERVAL_MS + 5000;
    let held = '';
    while (Date.now() < deadline) {
      held = (await redis.cli('HGET', CONFIG_KEY, 'version').catch(() => '')).trim();
      if (held === String(current)) break;
      await sleep(50);
    }
    expect(held, 'a replica wrote the shared limits back into the empty Redis').toBe(String(current));
    for (const r of replicas) expect(await seriesLimit(r), 'the limit set before the restart stays').toBe(6);
    for (const r of replicas)
      expect((await api(r, '/api/config/versions?limit=1')).json.current, 'no spurious versions').toBe(
        current,
      );
    expect(replicas.some((r) => r.output().includes('writing it back'))).toBe(true);

    await setSeriesLimit(c, 4, 'after the restart');
    const elapsed = await timeUntilShown([a, b], 4, 3000);
    console.log(`propagation after a Redis restart: ${elapsed.toFixed(0)} ms`);
    expect(elapsed).toBeLessThan(1000);
    expect(await push(a, 5)).toBe(400);
  }, 40_000);
});
