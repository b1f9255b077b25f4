// Two service processes (`node dist/src/cli.js`, REDIS_MODE=cluster) in front of a real Redis Cluster of
// three masters, each with a replica. Under steady load the master holding one tenant's slot is killed by
// PID and its replica takes over: no sender sees an error, the fallback shows in /metrics and
// /api/system/status, decisions return to the shared buckets within seconds of the promotion, and the
// take script is sent again to the promoted replica that never had it (NOSCRIPT).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey } from '../../src/stores/redis/bucket-scripts.js';
import { sleep, stopAllProcesses } from '../helpers/child-process.js';
import { sumMetric } from '../helpers/prometheus.js';
import type { MetricSample } from '../helpers/prometheus.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startRedisCluster } from '../helpers/redis-server.js';
import type { RedisCluster } from '../helpers/redis-server.js';
import { startService } from '../helpers/service.js';
import type { ServiceInstance } from '../helpers/service.js';
import { requestErrors, steadyLoad } from '../helpers/steady-load.js';

const ADMIN_TOKEN = 'redis-cluster-failover-token';
const TENANTS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
const COST = 10;

let cluster: RedisCluster;
let upstream: RecordingUpstream;
const services: ServiceInstance[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster(3, 1);
  upstream = await startRecordingUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-failover-'));
  const overrides = join(dir, 'overrides.yaml');
  writeFileSync(
    overrides,
    'overrides:\n' +
      TENANTS.map((t) => `  ${t}:\n    ingestion_rate: 100000\n    ingestion_burst_size: 100000\n`).join(''),
  );
  for (let i = 0; i < 2; i++) {
    services.push(
      await startService({
        upstreamUrl: upstream.url,
        overridesFile: overrides,
        logLevel: 'warn',
        env: {
          REDIS_MODE: 'cluster',
          REDIS_ADDRESS: cluster.seeds,
          REDIS_BREAKER_COOLDOWN: '300ms',
          REDIS_FALLBACK_REPLICAS: '2',
          REDIS_TIMEOUT: '250ms',
          ADMIN_TOKEN,
        },
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await upstream?.close();
  await cluster?.stop();
  await stopAllProcesses();
});

async function storeStatus(s: ServiceInstance): Promise<{ kind: string; fallback: boolean }> {
  const res = await fetch(`${s.adminUrl}/api/system/status`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return ((await res.json()) as { store: { kind: string; fallback: boolean } }).store;
}

/** Polls every service until each has shown `fallback: expected` at least once; returns when the last did. */
async function waitForFallback(expected: boolean, timeoutMs: number): Promise<number> {
  const pending = new Set(services);
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    for (const s of [...pending]) if ((await storeStatus(s)).fallback === expected) pending.delete(s);
    if (pending.size === 0) break;
    if (Date.now() > deadline)
      throw new Error(
        `${pending.size} service(s) did not show "fallback": ${expected} within ${timeoutMs} ms\n${[...pending].map((s) => s.output()).join('\n')}`,
      );
    await sleep(25);
  }
  return Date.now();
}

async function newMasterFor(key: string, oldPort: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await cluster.masterFor(key).catch(() => undefined);
    if (m !== undefined && m.port !== oldPort) return m;
    if (Date.now() > deadline) throw new Error(`no replica took over ${key} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

const total = (samples: MetricSample[][], name: string, labels: Record<string, string> = {}): number =>
  samples.reduce((a, m) => a + sumMetric(m, name, labels), 0);

describe('Redis Cluster failover through service processes', () => {
  it('keeps answering, shows the fallback, and returns to the shared buckets on the promoted replica', async () => {
    for (const s of services) expect(await storeStatus(s)).toMatchObject({ kind: 'redis', fallback: false });
    const victim = await cluster.masterFor(bucketKey('rls:', 'alpha'));
    const load = steadyLoad(
      services.map((s) => s.proxyUrl),
      TENANTS,
      20,
      COST,
    );
    try {
      await sleep(1500);
      const before = await Promise.all(services.map((s) => s.metrics()));
      expect(total(before, 'rls_store_checks_total', { answered_by: 'shared' })).toBeGreaterThan(0);
      expect(total(before, 'rls_store_fallback')).toBe(0);

      const killedAt = Date.now();
      await victim.kill();
      await waitForFallback(true, 5000);
      const during = await Promise.all(services.map((s) => s.metrics()));
      expect(total(during, 'rls_store_breaker_state', { state: 'closed' })).toBeLessThan(services.length);

      // The replica of the killed master takes over its slots (after cluster-node-timeout, 1 s).
      const promoted = await newMasterFor(bucketKey('rls:', 'alpha'), victim.port, 20_000);
      await cluster.waitHealthy(20_000);
      const healthyAt = Date.now();
      const backAt = await waitForFallback(false, 8000);
      const sharedBack = await Promise.all(services.map((s) => s.metrics()));
      await sleep(1500);
      const after = await Promise.all(services.map((s) => s.metrics()));
      await load.stop();

      expect(requestErrors(load.sent), 'no sender saw an error').toEqual([]);
      expect(
        load.sent.filter((s) => s.at > killedAt && s.at < backAt).length,
        'requests kept being decided during the failover',
      ).toBeGreaterThan(20);
      expect(load.sent.every((s) => s.status === 200 || s.status === 429)).toBe(true);
      expect(backAt - healthyAt, 'shared state again within seconds of the promotion').toBeLessThan(5000);
      expect(total(after, 'rls_store_fallback')).toBe(0);
      expect(total(after, 'rls_store_checks_total', { answered_by: 'local' })).toBeGreaterThan(0);
      for (const [i, m] of after.entries()) {
        expect(
          sumMetric(m, 'rls_store_checks_total', { answered_by: 'shared' }),
          `service ${i} decides from Redis again`,
        ).toBeGreaterThan(sumMetric(sharedBack[i]!, 'rls_store_checks_total', { answered_by: 'shared' }));
      }
      // The promoted replica had never loaded the take script: each service sent it again once.
      expect(total(after, 'rls_store_script_reloads_total')).toBeGreaterThanOrEqual(services.length);
      expect(await promoted.cli('EXISTS', bucketKey('rls:', 'alpha'))).toMatch(/^1/);
      if (process.env['REDIS_TEST_VERBOSE'])
        console.log(
          `fallback ${backAt - killedAt} ms in all; shared again ${backAt - healthyAt} ms after the cluster was healthy`,
        );
    } finally {
      await load.stop();
    }
  }, 90_000);
});
