// The breaker around Redis: opens after N failed round trips in a row, probes once per cooldown, closes
// on a good probe; the fallback share splits a limit among replicas; REDIS_ADDRESS is parsed strictly.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../../src/lib/redis/circuit-breaker.js';
import type { BreakerState } from '../../../../src/lib/redis/circuit-breaker.js';
import { shareOf } from '../../../../src/stores/fallback-rate-store.js';
import { parseRedisAddresses } from '../../../../src/lib/redis/redis-settings.js';
import { loadSettings } from '../../../../src/settings/settings.js';

describe('circuit breaker', () => {
  it('opens after the threshold of consecutive failures only', () => {
    const changes: string[] = [];
    const b = new CircuitBreaker(3, 1000, (from, to) => changes.push(`${from}>${to}`));
    b.failure(0);
    b.failure(1);
    b.success();
    b.failure(2);
    b.failure(3);
    expect(b.state).toBe<BreakerState>('closed');
    b.failure(4);
    expect(b.state).toBe<BreakerState>('open');
    expect(changes).toEqual(['closed>open']);
  });

  it('probes once per cooldown and closes on a good probe', () => {
    const b = new CircuitBreaker(1, 1000);
    b.failure(0);
    expect(b.tryProbe(999)).toBe(false);
    expect(b.tryProbe(1000)).toBe(true);
    expect(b.state).toBe<BreakerState>('half_open');
    expect(b.tryProbe(1001)).toBe(false);
    b.probed(false, 1001);
    expect(b.state).toBe<BreakerState>('open');
    expect(b.tryProbe(1500)).toBe(false);
    expect(b.tryProbe(2001)).toBe(true);
    b.probed(true, 2001);
    expect(b.state).toBe<BreakerState>('closed');
    expect(b.opened).toBe(1);
  });
});

describe('fallback share', () => {
  it('gives each replica its share of rate and burst, keeping room for one request', () => {
    const q = {
      requestRate: 10,
      requestBurst: 2,
      ingestionRate: 30000,
      ingestionBurst: 60000,
      cost: 100,
      requestEnforced: true,
    };
    expect(shareOf(q, 3)).toEqual({
      ...q,
      requestRate: 10 / 3,
      requestBurst: 1,
      ingestionRate: 10000,
      ingestionBurst: 20000,
    });
    expect(shareOf(q, 1)).toBe(q);
  });
});

describe('REDIS_ADDRESS', () => {
  it('reads host:port lists with default ports per mode', () => {
    expect(parseRedisAddresses('redis-a:7000, redis-b', 'cluster', 'env')).toEqual([
      { host: 'redis-a', port: 7000 },
      { host: 'redis-b', port: 6379 },
    ]);
    expect(parseRedisAddresses('sentinel-0', 'sentinel', 'env')).toEqual([
      { host: 'sentinel-0', port: 26379 },
    ]);
    expect(parseRedisAddresses('', 'standalone', 'env')).toEqual([]);
    expect(parseRedisAddresses('redis://cache:6380', 'standalone', 'env')).toEqual([
      { host: 'cache', port: 6380 },
    ]);
    expect(() => parseRedisAddresses('rediss://cache:6380', 'standalone', 'env')).toThrow(
      /rediss:\/\/ \(TLS to Redis\) is not supported/,
    );
  });

  it('refuses a bad address or pool naming the setting', () => {
    expect(() => loadSettings({ REDIS_ADDRESS: 'redis:notaport' }, [])).toThrow(
      /REDIS_ADDRESS.*redis:notaport/,
    );
    expect(() =>
      loadSettings({ REDIS_ADDRESS: 'redis:6379', REDIS_POOL_SIZE: '2', REDIS_MIN_IDLE_CONNS: '3' }, []),
    ).toThrow(/REDIS_MIN_IDLE_CONNS/);
    expect(() => loadSettings({ REDIS_MODE: 'ring' }, [])).toThrow(/REDIS_MODE/);
    expect(loadSettings({ REDIS_ADDRESS: 'redis:6379' }, []).redis.addresses).toEqual([
      { host: 'redis', port: 6379 },
    ]);
  });
});
