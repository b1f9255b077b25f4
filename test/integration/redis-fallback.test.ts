// A real redis-server is killed and restarted under steady load. Nothing fails for the senders: the
// breaker opens and decisions continue from this replica's share of each limit, the mode shows in
// /api/system/status and /metrics, and within seconds of Redis returning decisions use the shared
// buckets again, without a burst of allows for a tenant that was over its limit.
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey } from '../../src/stores/redis/bucket-scripts.js';
import { sleep } from '../helpers/child-process.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { requestErrors, steadyLoad } from '../helpers/steady-load.js';

const TIGHT_RATE = 100; // samples/s
const COST = 10; // samples per request

let redis: RedisServer;
let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startRecordingUpstream();
  edge = await startEdge(
    upstream.url,
    { REDIS_ADDRESS: redis.address, REDIS_BREAKER_COOLDOWN: '500ms' },
    `overrides:\n  roomy:\n    ingestion_rate: 100000\n    ingestion_burst_size: 100000\n` +
      `  tight:\n    ingestion_rate: ${TIGHT_RATE}\n    ingestion_burst_size: ${TIGHT_RATE}\n`,
  );
});

afterAll(async () => {
  await edge?.stop();
  await upstream?.close();
  await redis?.stop();
});

async function storeStatus(): Promise<{ kind: string; fallback: boolean }> {
  const res = await request(`${edge.adminUrl}/api/system/status`, { headers: edge.adminHeaders });
  return ((await res.body.json()) as { store: { kind: string; fallback: boolean } }).store;
}

async function waitForFallback(expected: boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if ((await storeStatus()).fallback === expected) return Date.now();
    await sleep(25);
  }
  throw new Error(`store fallback did not become ${expected} within ${timeoutMs} ms`);
}

describe('Redis killed and restarted under load', () => {
  it('keeps answering, reports the fallback, and returns to the shared buckets without a burst', async () => {
    expect(await storeStatus()).toMatchObject({ kind: 'redis', fallback: false });
    const load = steadyLoad([edge.proxyUrl], ['roomy', 'tight'], 20, COST);
    try {
      await sleep(1500);
      await redis.kill();
      await waitForFallback(true, 3000);
      const duringOutage = await scrapeMetrics(edge.metricsUrl);
      expect(sumMetric(duringOutage, 'rls_store_fallback')).toBe(1);
      expect(sumMetric(duringOutage, 'rls_store_breaker_state', { state: 'closed' })).toBe(0);
      await sleep(1500);

      await redis.restart();
      const backAt = await waitForFallback(false, 5000);
      const after = await scrapeMetrics(edge.metricsUrl);
      expect(sumMetric(after, 'rls_store_fallback')).toBe(0);
      expect(sumMetric(after, 'rls_store_checks_total', { answered_by: 'local' })).toBeGreaterThan(0);
      await sleep(2000);
      await load.stop();

      expect(requestErrors(load.sent), 'no sender saw an error').toEqual([]);
      expect(load.sent.filter((s) => s.tenant === 'roomy').every((s) => s.status === 200)).toBe(true);

      // Back on the shared bucket: it lives in Redis again.
      const client = new Redis({ host: '127.0.0.1', port: redis.port });
      try {
        expect(await client.exists(bucketKey('rls:', 'tight'))).toBe(1);
      } finally {
        client.disconnect();
      }

      // The tight tenant was over its limit throughout; the empty Redis must not hand it a fresh burst.
      const windowMs = 2000;
      const allowedAfter = load.sent.filter(
        (s) => s.tenant === 'tight' && s.status === 200 && s.at >= backAt && s.at < backAt + windowMs,
      ).length;
      expect(allowedAfter * COST).toBeLessThanOrEqual((TIGHT_RATE * windowMs) / 1000 + 2 * COST);
    } finally {
      await load.stop();
    }
  }, 60_000);

  it('starts the local share where the shared bucket was, so an outage hands no tenant a fresh burst', async () => {
    await waitForFallback(false, 5000);
    const load = steadyLoad([edge.proxyUrl], ['tight'], 20, COST);
    try {
      // Over its limit in Redis (50 requests of 10 samples a second against 100 samples a second).
      await sleep(1500);
      const killedAt = Date.now();
      await redis.kill();
      await waitForFallback(true, 3000);
      await sleep(1200);
      await load.stop();
      const windowMs = 1000;
      const allowed = load.sent.filter(
        (s) => s.status === 200 && s.at >= killedAt && s.at < killedAt + windowMs,
      ).length;
      expect(requestErrors(load.sent)).toEqual([]);
      // A fresh local bucket would allow its burst (100) on top of the refill (100 in the window).
      expect(allowed * COST, 'samples allowed in the first second of the outage').toBeLessThanOrEqual(
        (TIGHT_RATE * windowMs) / 1000 + 3 * COST,
      );
    } finally {
      await load.stop();
      await redis.restart();
    }
  }, 60_000);
});
