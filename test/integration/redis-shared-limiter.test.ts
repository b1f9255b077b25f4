// The shared limiter against a real redis-server on Redis's own clock: two replicas (two connections)
// together never allow more than the limit, a flushed script is reloaded without an error, every key
// carries a TTL inside one hash tag, and a crashed holder's concurrency units come back.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlgorithmSpec } from '../../src/lib/engine/algorithm-spec.js';
import { algorithmScriptReloads, SharedRateLimiter } from '../../src/lib/redis/shared-rate-limiter.js';
import { sleep } from '../helpers/child-process.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

let server: RedisServer;
let a: Redis;
let b: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  a = new Redis({ host: '127.0.0.1', port: server.port });
  b = new Redis({ host: '127.0.0.1', port: server.port });
});

afterAll(async () => {
  a?.disconnect();
  b?.disconnect();
  await server?.stop();
});

const fixedSpecs: [string, AlgorithmSpec, number][] = [
  ['token_bucket', { algorithm: 'token_bucket', rate: 0.001, burst: 50 }, 50],
  ['gcra', { algorithm: 'gcra', limit: 50, period: '1h' }, 50],
  ['fixed_window', { algorithm: 'fixed_window', limit: 50, window: '1h' }, 50],
  ['sliding_window_counter', { algorithm: 'sliding_window_counter', limit: 50, window: '1h' }, 50],
  ['sliding_window_log', { algorithm: 'sliding_window_log', limit: 50, window: '1h' }, 50],
  ['leaky_bucket', { algorithm: 'leaky_bucket', rate: 0.001, capacity: 50 }, 50],
  ['concurrency', { algorithm: 'concurrency', limit: 50 }, 50],
  ['calendar_quota', { algorithm: 'calendar_quota', limit: 50, period: 'month' }, 50],
];

describe('two replicas sharing one Redis', () => {
  for (const [name, spec, limit] of fixedSpecs) {
    it(`${name}: together they allow exactly the limit, never more`, async () => {
      const one = new SharedRateLimiter(spec, a, { name: 'two', keyPrefix: 'pair:' });
      const two = new SharedRateLimiter(spec, b, { name: 'two', keyPrefix: 'pair:' });
      // 200 checks from each replica at once: batches from both interleave in Redis.
      const all = await Promise.all(
        Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? one : two).check(`tenant-${name}`)),
      );
      const allowed = all.filter((d) => d.allowed).length;
      expect(allowed, `${allowed} requests allowed against a limit of ${limit}`).toBe(limit);
      expect(one.roundTrips + two.roundTrips, 'checks of one tick should share round trips').toBeLessThan(10);
    });
  }
});

describe('scripts and keys', () => {
  it('a SCRIPT FLUSH (restart, failover) is recovered without a failed check', async () => {
    const limiter = new SharedRateLimiter({ algorithm: 'fixed_window', limit: 3, window: '1m' }, a, {
      name: 'flush',
    });
    expect((await limiter.check('x')).allowed).toBe(true);
    const before = algorithmScriptReloads();
    await a.script('FLUSH');
    const d = await limiter.check('x');
    expect(d.allowed).toBe(true);
    expect(d.remaining).toBe(1);
    expect(algorithmScriptReloads()).toBe(before + 1);
  });

  it('every key sits in one hash tag and carries a TTL matching its state', async () => {
    const cases: [AlgorithmSpec, number][] = [
      [{ algorithm: 'token_bucket', rate: 10, burst: 20 }, 2000],
      [{ algorithm: 'gcra', limit: 10, period: '1s' }, 1000],
      [{ algorithm: 'fixed_window', limit: 10, window: '10s' }, 10_000],
      [{ algorithm: 'sliding_window_counter', limit: 10, window: '10s' }, 20_000],
      [{ algorithm: 'sliding_window_log', limit: 10, window: '10s' }, 10_000],
      [{ algorithm: 'leaky_bucket', rate: 10, capacity: 20 }, 2000],
      [{ algorithm: 'concurrency', limit: 10, lease: '30s' }, 30_000],
      [{ algorithm: 'calendar_quota', limit: 10, period: 'day' }, 86_400_000],
    ];
    for (const [spec, maxMs] of cases) {
      const limiter = new SharedRateLimiter(spec, a, { name: 'ttl', keyPrefix: 'ttl:' });
      await limiter.check(
        'user-1',
        spec.algorithm === 'token_bucket' || spec.algorithm === 'leaky_bucket' ? 20 : 10,
      );
      const key = limiter.redisKey('user-1');
      expect(key).toBe(`ttl:{ttl:${spec.algorithm}:user-1}`);
      const pttl = await a.pttl(key);
      expect(pttl, `${spec.algorithm}: PTTL ${pttl}`).toBeGreaterThan(0);
      expect(pttl, `${spec.algorithm}: PTTL ${pttl} beyond its state's life`).toBeLessThanOrEqual(
        maxMs + 1000,
      );
    }
  });

  it('a state back to fresh leaves no key behind', async () => {
    const limiter = new SharedRateLimiter({ algorithm: 'token_bucket', rate: 10, burst: 20 }, a, {
      name: 'fresh',
    });
    await limiter.check('k', 0);
    expect(await a.exists(limiter.redisKey('k'))).toBe(0);
  });
});

describe('concurrency leases', () => {
  it('units come back on release, and on their own when the holder never releases', async () => {
    const limiter = new SharedRateLimiter({ algorithm: 'concurrency', limit: 2, lease: '300ms' }, a, {
      name: 'lease',
    });
    const first = await limiter.check('job');
    const second = await limiter.check('job');
    expect([first.allowed, second.allowed]).toEqual([true, true]);
    expect((await limiter.check('job')).allowed, 'a third request while two are in flight').toBe(false);
    await limiter.release('job', first.lease);
    const third = await limiter.check('job');
    expect(third.allowed, 'a request after one was released').toBe(true);
    // Nobody releases `second` or `third` (a crashed replica): their leases lapse.
    expect((await limiter.check('job')).allowed).toBe(false);
    await sleep(450);
    const later = await limiter.check('job');
    expect(later.allowed, 'units of a crashed holder should come back after the lease').toBe(true);
    expect(later.remaining).toBe(1);
  });
});
