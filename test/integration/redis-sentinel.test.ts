// The service with REDIS_MODE=sentinel against a real Sentinel group (a master, a replica, three
// sentinels, all on random ports). Under steady load the master is killed by PID: senders see no error,
// decisions continue from the local share while the sentinels fail over, /api/system/status and /metrics
// show it, and within seconds of the promotion the checks use the shared buckets on the new master.
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
import { startRedisSentinelGroup } from '../helpers/redis-sentinel.js';
import type { RedisSentinelGroup } from '../helpers/redis-sentinel.js';
import { requestErrors, steadyLoad } from '../helpers/steady-load.js';

const TIGHT_RATE = 100; // samples/s
const COST = 10; // samples per request

let group: RedisSentinelGroup;
let upstream: RecordingUpstream;
let edge: EdgeUnderTest | undefined;

beforeAll(async () => {
  group = await startRedisSentinelGroup({ replicas: 1, sentinels: 3 });
  upstream = await startRecordingUpstream();
  edge = await startEdge(
    upstream.url,
    {
      REDIS_MODE: 'sentinel',
      REDIS_ADDRESS: group.sentinelAddresses,
      REDIS_SENTINEL_MASTER: group.masterName,
      REDIS_BREAKER_COOLDOWN: '300ms',
      REDIS_FALLBACK_REPLICAS: '1',
      // Connections, breaker changes and failed probes, shown when a step below times out.
      LOG_LEVEL: 'debug',
    },
    `overrides:\n  roomy:\n    ingestion_rate: 100000\n    ingestion_burst_size: 100000\n` +
      `  tight:\n    ingestion_rate: ${TIGHT_RATE}\n    ingestion_burst_size: ${TIGHT_RATE}\n`,
  );
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await upstream?.close();
  await group?.stop();
});

async function storeStatus(): Promise<{ kind: string; fallback: boolean }> {
  const res = await request(`${edge!.adminUrl}/api/system/status`, { headers: edge!.adminHeaders });
  return ((await res.body.json()) as { store: { kind: string; fallback: boolean } }).store;
}

/** What the service reported and logged, for a failure message. */
async function serviceSide(): Promise<string> {
  return `store status: ${JSON.stringify(await storeStatus())}\nservice log:\n${edge!.logs()}`;
}

async function waitForFallback(expected: boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if ((await storeStatus()).fallback === expected) return Date.now();
    await sleep(25);
  }
  throw new Error(
    `/api/system/status did not show "fallback": ${expected} within ${timeoutMs} ms\n${await serviceSide()}`,
  );
}

async function keyExists(port: number, key: string): Promise<boolean> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    return (await client.exists(key)) === 1;
  } finally {
    client.disconnect();
  }
}

async function bucketValue(port: number, key: string): Promise<string> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    return (await client.getBuffer(key))?.toString('hex') ?? '';
  } finally {
    client.disconnect();
  }
}

const sharedChecks = async (): Promise<number> =>
  sumMetric(await scrapeMetrics(edge!.metricsUrl), 'rls_store_checks_total', { answered_by: 'shared' });

describe('Redis Sentinel', () => {
  it('follows a master failover: no sender errors, local share meanwhile, shared buckets on the new master', async () => {
    expect(await storeStatus()).toMatchObject({ kind: 'redis', fallback: false });
    const oldMaster = await group.masterPort();
    const load = steadyLoad([edge!.proxyUrl], ['roomy', 'tight'], 20, COST);
    try {
      await sleep(1000);
      expect(
        await sharedChecks(),
        'checks are answered by Redis through the sentinel-named master',
      ).toBeGreaterThan(0);
      expect(await keyExists(oldMaster, bucketKey('rls:', 'roomy'))).toBe(true);

      const master = group.servers.find((s) => s.port === oldMaster)!;
      const killedAt = Date.now();
      await master.kill();
      await waitForFallback(true, 3000);
      const during = await scrapeMetrics(edge!.metricsUrl);
      expect(sumMetric(during, 'rls_store_fallback')).toBe(1);
      expect(sumMetric(during, 'rls_store_breaker_state', { state: 'closed' })).toBe(0);

      const newMaster = await group.waitForNewMaster(oldMaster, 20_000);
      const promotedAt = Date.now();
      const backAt = await waitForFallback(false, 8000);
      const sharedBefore = await sharedChecks();
      await sleep(1500);
      const after = await scrapeMetrics(edge!.metricsUrl);
      await load.stop();

      expect(sumMetric(after, 'rls_store_fallback')).toBe(0);
      expect(sumMetric(after, 'rls_store_checks_total', { answered_by: 'local' })).toBeGreaterThan(0);
      expect(
        sumMetric(after, 'rls_store_checks_total', { answered_by: 'shared' }),
        'checks go to Redis again after the failover',
      ).toBeGreaterThan(sharedBefore);
      expect(
        await keyExists(newMaster, bucketKey('rls:', 'tight')),
        'the tight tenant has its bucket on the promoted replica',
      ).toBe(true);
      expect(requestErrors(load.sent), 'no sender saw an error').toEqual([]);
      const inOutage = load.sent.filter((s) => s.at > killedAt && s.at < backAt);
      expect(inOutage.length, 'requests kept being decided during the failover').toBeGreaterThan(20);
      expect(load.sent.filter((s) => s.tenant === 'roomy').every((s) => s.status === 200)).toBe(true);
      expect(backAt - promotedAt, 'shared state again within seconds of the promotion').toBeLessThan(5000);

      // The tight tenant stays within its limit on the new master: the replica had its bucket. Slack of
      // three requests: replication is asynchronous, so the last takes before the kill may be lost, and
      // requests are timed when sent, not when decided.
      const windowMs = 1500;
      const allowed = load.sent.filter(
        (s) => s.tenant === 'tight' && s.status === 200 && s.at >= backAt && s.at < backAt + windowMs,
      ).length;
      if (allowed * COST > (TIGHT_RATE * windowMs) / 1000 + 3 * COST)
        throw new Error(
          `the tight tenant was allowed ${allowed * COST} samples in ${windowMs} ms after the failover\n${await serviceSide()}`,
        );
      if (process.env['REDIS_TEST_VERBOSE'])
        console.log(
          `fallback ${backAt - killedAt} ms in all; shared again ${backAt - promotedAt} ms after the promotion`,
        );
    } finally {
      await load.stop();
    }
  }, 60_000);

  it('follows a manual failover in which the old master stays up and becomes a replica', async () => {
    // The killed server comes back empty, as a replica of the current master.
    const current = await group.masterPort();
    const dead = group.servers.find((s) => s.port !== current)!;
    await dead.restart();
    await dead.cli('REPLICAOF', '127.0.0.1', String(current));
    const deadline = Date.now() + 15_000;
    while (!(await dead.cli('INFO', 'replication')).includes('master_link_status:up')) {
      if (Date.now() > deadline) throw new Error('the restarted server did not become a replica');
      await sleep(100);
    }
    const load = steadyLoad([edge!.proxyUrl], ['roomy', 'tight'], 20, COST);
    try {
      await sleep(500);
      const demoted = group.servers.find((s) => s.port === current)!;
      const sentinel = Number(group.sentinelAddresses.split(',')[0]!.split(':')[1]);
      // NOGOODSLAVE until the sentinels have seen the replica up again.
      const askUntil = Date.now() + 20_000;
      for (;;) {
        const answer = await demoted.cli('-p', String(sentinel), 'SENTINEL', 'FAILOVER', group.masterName);
        if (answer.trim() === 'OK') break;
        if (Date.now() > askUntil) throw new Error(`SENTINEL FAILOVER kept answering ${answer.trim()}`);
        await sleep(250);
      }
      const promoted = await group.waitForNewMaster(current, 20_000);
      expect(promoted).toBe(dead.port);
      const promotedServer = dead;
      const promotedAt = Date.now();
      // Checks write to the promoted server (the bucket's value there keeps changing), not to the old
      // master, which still answers and calls itself master until the sentinels demote it seconds later.
      const until = Date.now() + 5000;
      let onNew = false;
      let last = await bucketValue(promoted, bucketKey('rls:', 'roomy'));
      while (Date.now() < until && !onNew) {
        await sleep(200);
        const now = await bucketValue(promoted, bucketKey('rls:', 'roomy'));
        const status = await storeStatus();
        onNew = status.fallback === false && now !== last;
        last = now;
      }
      const sharedBefore = await sharedChecks();
      await sleep(1000);
      await load.stop();
      if (!onNew)
        throw new Error(`checks did not write to the promoted master within 5 s\n${await serviceSide()}`);
      expect(
        await promotedServer.cli('CLIENT', 'LIST'),
        "the service's pool is connected to the promoted master",
      ).toContain('name=mimir-edge-');
      expect(await sharedChecks()).toBeGreaterThan(sharedBefore);
      expect(requestErrors(load.sent), 'no sender saw an error').toEqual([]);
      if (process.env['REDIS_TEST_VERBOSE'])
        console.log(`on the new master ${Date.now() - promotedAt} ms after`);
    } finally {
      await load.stop();
    }
  }, 60_000);

  it('closes its connections to the servers and the sentinels on shutdown', async () => {
    await edge!.stop();
    edge = undefined;
    const ours = (list: string) =>
      list
        .split('\n')
        .filter(
          (l) => l.startsWith('id=') && !l.includes('name=sentinel-') && !l.includes('cmd=client|list'),
        );
    const deadline = Date.now() + 3000;
    let left: string[];
    do {
      left = [];
      for (const port of group.sentinelAddresses.split(',').map((a) => a.split(':')[1]!))
        left.push(...ours(await group.servers[0]!.cli('-p', port, 'CLIENT', 'LIST')));
      for (const server of group.servers) left.push(...ours(await server.cli('CLIENT', 'LIST')));
      left = left.filter((l) => !/ flags=[^ ]*[SM]/.test(l)); // replication links between the servers
      if (left.length === 0) break;
      await sleep(100);
    } while (Date.now() < deadline);
    expect(left, 'connections left open after the service stopped').toEqual([]);
  });
});
