// HA elections shared through a real redis-server: two edge replicas behind one Redis elect one replica per
// cluster between them (a write from the other Prometheus of the pair gets 202 whichever edge it reaches), fail
// over together, and the Lua election decides exactly as the in-process tracker does. With Redis gone, the
// elections go on in process and no write fails.

import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadSettings } from '../../src/settings/settings.js';
import { HaTracker } from '../../src/decide/ha-tracker.js';
import type { HaQuestion, HaVerdict } from '../../src/decide/ha-tracker.js';
import { RedisHaElection, haElectionKey } from '../../src/decide/ha-election-redis.js';
import type { RedisSettings } from '../../src/lib/redis/redis-settings.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { snappyBody } from '../helpers/write-request.js';

const TENANT = 'ha-team';
let redis: RedisServer;
let upstream: RecordingUpstream;
let edges: EdgeUnderTest[] = [];
let redisSettings: RedisSettings;
let clock = 1_900_000_000_000;

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startRecordingUpstream();
  const overrides = stringify({
    overrides: { [TENANT]: { accept_ha_samples: true, ha_tracker_failover_timeout: '5s' } },
  });
  const env = { REDIS_ADDRESS: redis.address };
  edges = [
    await startEdge(upstream.url, env, overrides, () => clock),
    await startEdge(upstream.url, env, overrides, () => clock),
  ];
  redisSettings = loadSettings({ UPSTREAM_URL: upstream.url, REDIS_ADDRESS: redis.address }, []).redis;
}, 30_000);

afterAll(async () => {
  for (const e of edges) await e.stop();
  await upstream?.close();
  await redis?.stop();
});

async function push(edge: EdgeUnderTest, cluster: string, replica: string): Promise<number> {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-scope-orgid': TENANT,
    },
    body: snappyBody([{ labels: { __name__: 'up', cluster, __replica__: replica } }]),
  });
  await res.body.dump();
  return res.statusCode;
}

describe('two edge replicas sharing HA elections through Redis', () => {
  it('a replica elected on one edge is the elected one on the other; failover is shared too', async () => {
    const [a, b] = edges as [EdgeUnderTest, EdgeUnderTest];
    const before = upstream.requests.length;
    expect(await push(a, 'prom-1', 'r1'), 'r1 first, through edge A: elected').toBe(200);
    expect(await push(b, 'prom-1', 'r2'), 'r2 through edge B: not elected, deduplicated').toBe(202);
    expect(await push(b, 'prom-1', 'r1'), 'r1 through edge B: still elected').toBe(200);
    expect(upstream.requests.length - before, 'only r1 writes reach the upstream').toBe(2);

    clock += 5_000; // r1 silent for the whole failover timeout
    expect(await push(b, 'prom-1', 'r2'), 'r2 after the timeout: failover').toBe(200);
    expect(await push(a, 'prom-1', 'r1'), 'r1 back, through edge A: now deduplicated').toBe(202);
    expect(upstream.requests.length - before).toBe(3);

    const ttl = Number(await redis.cli('PTTL', haElectionKey('rls:', TENANT)));
    expect(ttl, 'the election hash expires when the tenant stops sending').toBeGreaterThan(0);
  });

  it('replicas racing through two Redis connections get exactly one elected replica', async () => {
    const one = new RedisHaElection(redisSettings);
    const two = new RedisHaElection(redisSettings);
    try {
      expect(await one.waitReady(5000)).toBe(true);
      expect(await two.waitReady(5000)).toBe(true);
      for (let round = 0; round < 20; round++) {
        const q = (replica: string): HaQuestion => ({
          tenant: 'race',
          cluster: `c${round}`,
          replica,
          nowMs: clock,
          failoverTimeoutMs: 30_000,
          maxClusters: 0,
        });
        const verdicts = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? one : two).elect(q(`r${i}`))),
        );
        const accepted = verdicts.filter((v) => v.kind === 'accept');
        expect(accepted, `round ${round}: ${JSON.stringify(verdicts)}`).toHaveLength(1);
        const elected = (accepted[0] as Extract<HaVerdict, { kind: 'accept' }>).elected;
        for (const v of verdicts) if (v.kind === 'dedupe') expect(v.elected).toBe(elected);
      }
      expect(one.errors + two.errors, 'every election answered by Redis').toBe(0);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('the Lua election decides exactly as the in-process tracker (property)', async () => {
    const shared = new RedisHaElection(redisSettings);
    try {
      expect(await shared.waitReady(5000)).toBe(true);
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              dt: fc.integer({ min: 0, max: 4_000 }),
              cluster: fc.constantFrom('a', 'b', 'c'),
              replica: fc.constantFrom('r1', 'r2'),
            }),
            { maxLength: 25 },
          ),
          fc.integer({ min: 0, max: 2 }),
          async (writes, maxClusters) => {
            const tenant = `equiv-${run++}`;
            const local = new HaTracker();
            let now = 1_000_000;
            for (const w of writes) {
              now += w.dt;
              const q: HaQuestion = { tenant, ...w, nowMs: now, failoverTimeoutMs: 3_000, maxClusters };
              expect(await shared.elect(q), JSON.stringify(q)).toEqual(local.elect(q));
            }
          },
        ),
        { numRuns: 40 },
      );
      expect(shared.errors).toBe(0);
    } finally {
      await shared.close();
    }
  });

  it('with Redis gone, elections go on in process and writes are still answered', async () => {
    const election = new RedisHaElection(redisSettings);
    try {
      expect(await election.waitReady(5000)).toBe(true);
      await redis.stop();
      const q = (replica: string): HaQuestion => ({
        tenant: 'down',
        cluster: 'c',
        replica,
        nowMs: clock,
        failoverTimeoutMs: 30_000,
        maxClusters: 0,
      });
      expect((await election.elect(q('r1'))).kind).toBe('accept');
      expect(await election.elect(q('r2'))).toEqual({ kind: 'dedupe', elected: 'r1' });
      expect(election.errors).toBeGreaterThan(0);
      const [a] = edges as [EdgeUnderTest];
      expect(await push(a, 'prom-9', 'r1'), 'a write while Redis is down').toBe(200);
    } finally {
      await election.close();
    }
  });
});
