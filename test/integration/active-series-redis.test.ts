// Two edge replicas sharing one Redis: a tenant whose writes are spread over both must show one estimate of all
// its series on each replica (PFADD into per-slice keys, PFCOUNT over the window), not each replica's half; and
// the keys must expire. Both sides of each replica share: the worker thread (most tenants) and the event loop
// (tenants enforcing max_global_series_per_user), each with a Redis connection of its own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { snappyBody } from '../helpers/write-request.js';

let redis: RedisServer;
let upstream: RecordingUpstream;
let edges: EdgeUnderTest[] = [];
const clock = { ms: Date.UTC(2026, 11, 7, 8, 0, 0) };

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startRecordingUpstream();
  const env = {
    REDIS_ADDRESS: redis.address,
    ACTIVE_SERIES_ENABLED: 'true',
    ACTIVE_SERIES_SAMPLE_EVERY: '1',
    ACTIVE_SERIES_REFRESH: '200ms',
  };
  const overrides =
    'overrides:\n  spread:\n    max_global_series_per_user: 4000\n' +
    '  guarded:\n    max_global_series_per_user: 100000\n    enforce_max_series_at_edge: true\n';
  edges = [
    await startEdge(upstream.url, env, overrides, () => clock.ms),
    await startEdge(upstream.url, env, overrides, () => clock.ms),
  ];
}, 30_000);

afterAll(async () => {
  for (const e of edges) await e.stop();
  await upstream?.close();
  await redis?.stop();
});

async function push(edge: EdgeUnderTest, from: number, count: number, tenant = 'spread'): Promise<number> {
  const series = Array.from({ length: count }, (_, i) => ({
    labels: { __name__: 'up', pod: `pod-${from + i}` },
  }));
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-scope-orgid': tenant,
    },
    body: snappyBody(series),
  });
  await res.body.dump();
  return res.statusCode;
}

async function estimate(
  edge: EdgeUnderTest,
  tenant = 'spread',
): Promise<{ active: number; local: number; shared: boolean }> {
  const res = await request(`${edge.adminUrl}/api/active-series/${tenant}`, { headers: edge.adminHeaders });
  const json = (await res.body.json()) as {
    active_series: number;
    local_active_series: number;
    shared: boolean;
  };
  return { active: json.active_series, local: json.local_active_series, shared: json.shared };
}

describe('active series shared through Redis', () => {
  it('shows every replica the series of all replicas', async () => {
    // 1,500 series through each replica, 500 of them through both: 2,500 distinct.
    expect(await push(edges[0]!, 0, 1500)).toBe(200);
    expect(await push(edges[1]!, 1000, 1500)).toBe(200);
    for (const edge of edges) {
      await expect
        .poll(async () => (await estimate(edge)).active, { timeout: 10_000, interval: 200 })
        .toBeGreaterThan(2450);
      const e = await estimate(edge);
      expect(e.shared).toBe(true);
      expect(e.active).toBeLessThan(2550);
      // Each replica alone saw 1,500.
      expect(e.local).toBeGreaterThan(1470);
      expect(e.local).toBeLessThan(1530);
    }
    const keys = (await redis.cli('--scan', '--pattern', 'rls:as:*')).trim().split('\n');
    expect(keys).toEqual([expect.stringMatching(/^rls:as:\{spread\}:\d+$/)]);
    const ttl = Number((await redis.cli('PTTL', keys[0]!)).trim());
    // One window and two slices: 24 minutes.
    expect(ttl).toBeGreaterThan(23 * 60_000);
    expect(ttl).toBeLessThanOrEqual(24 * 60_000);
  });

  it('shares the estimate of a tenant read on the event loop (enforcing) the same way', async () => {
    expect(await push(edges[0]!, 0, 1200, 'guarded')).toBe(200);
    expect(await push(edges[1]!, 600, 1200, 'guarded')).toBe(200);
    for (const edge of edges) {
      await expect
        .poll(async () => (await estimate(edge, 'guarded')).active, { timeout: 10_000, interval: 200 })
        .toBeGreaterThan(1760);
      const e = await estimate(edge, 'guarded');
      expect(e.shared).toBe(true);
      expect(e.active).toBeLessThan(1840);
      expect(e.local).toBeGreaterThan(1176);
      expect(e.local).toBeLessThan(1224);
    }
  });
});
