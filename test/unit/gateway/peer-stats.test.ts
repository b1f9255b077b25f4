// envoyproxy/ratelimit's statistics as Prometheus series: the labels its statsd-exporter mapping gives a
// stats key (default_mapper.yaml), its stat-name sanitizing, the over/near/within split of its base limiter
// (test/limiter/base_limiter_test.go's arithmetic, checked as a property), and the bound on series.

import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PeerStats, sanitizeStatName, statLabels } from '../../../src/gateway/ratelimit/peer-stats.js';

async function values(registry: Registry, name: string): Promise<Map<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const out = new Map<string, number>();
  for (const v of (metric?.values ?? []) as { labels: Record<string, string>; value: number }[]) {
    out.set(`${v.labels['domain']}|${v.labels['key1']}|${v.labels['key2']}`, v.value);
  }
  return out;
}

describe('stats key → statsd-exporter labels', () => {
  it.each([
    ['basic.key1', ['basic', 'key1', '']],
    ['test-domain.key1_value1.subkey1', ['test-domain', 'key1_value1', 'subkey1']],
    ['d.a.b.c.d', ['d', 'a', 'b']],
    ['edge.remote_address_10.0.0.1', ['edge', 'remote_address_10_0_0_1', '']],
    ['d.k_a:b|c', ['d', 'k_a_b_c', '']],
  ])('%s → %j', (key, labels) => {
    expect(statLabels(key)).toEqual(labels);
  });

  it('sanitizes as envoyproxy/ratelimit: only : | and the dots of IPv4 addresses change', () => {
    expect(sanitizeStatName('a.b:c|d.1.2.3.4.x')).toBe('a.b_c_d.1_2_3_4.x');
  });
});

describe('over / near / within split', () => {
  it('adds up to total_hits, as envoyproxy/ratelimit counts them (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 20 }),
        async (limit, hitsList) => {
          const registry = new Registry();
          const stats = new PeerStats(registry);
          let count = 0;
          let over = 0;
          let within = 0;
          for (const hits of hitsList) {
            count += hits;
            stats.recordWindow('d.k', 'd.k', limit, count, hits, false);
            if (count > limit) over += Math.min(hits, count - limit);
            else within += hits;
          }
          const key = 'd|k|';
          expect((await values(registry, 'ratelimit_service_rate_limit_total_hits')).get(key) ?? 0).toBe(
            count,
          );
          expect((await values(registry, 'ratelimit_service_rate_limit_over_limit')).get(key) ?? 0).toBe(
            over,
          );
          expect((await values(registry, 'ratelimit_service_rate_limit_within_limit')).get(key) ?? 0).toBe(
            within,
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts near_limit past floor(limit × 0.8), and shadow_mode for a shadow limit', async () => {
    const registry = new Registry();
    const stats = new PeerStats(registry);
    // Limit 10: near from 9 (floor(8) + 1) to 10. One request of 12 hits from 0: 2 over, 2 near, 2 shadow.
    stats.recordWindow('d.k', 'd.k', 10, 12, 12, true);
    expect((await values(registry, 'ratelimit_service_rate_limit_over_limit')).get('d|k|')).toBe(2);
    expect((await values(registry, 'ratelimit_service_rate_limit_near_limit')).get('d|k|')).toBe(2);
    expect((await values(registry, 'ratelimit_service_rate_limit_shadow_mode')).get('d|k|')).toBe(2);
  });
});

describe('fixed_cache_impl_test.go: TestNearLimit', () => {
  // [limit, count after the hits, hits] per call on one key → [total, over, near, within] after it.
  it.each<[string, [number, number, number][], [number, number, number, number]]>([
    ['under the near ratio', [[15, 11, 1]], [1, 0, 0, 1]],
    [
      'then at it, still OK',
      [
        [15, 11, 1],
        [15, 13, 1],
      ],
      [2, 0, 1, 2],
    ],
    [
      'then over: near stops counting',
      [
        [15, 11, 1],
        [15, 13, 1],
        [15, 16, 1],
      ],
      [3, 1, 1, 2],
    ],
    ['hitsAddend 3, all under near', [[20, 5, 3]], [3, 0, 0, 3]],
    ['hitsAddend 2, some over near', [[8, 7, 2]], [2, 0, 1, 2]],
    ['hitsAddend 3, all over near', [[20, 19, 3]], [3, 0, 3, 3]],
    ['hitsAddend 3, some over the limit', [[20, 22, 3]], [3, 2, 1, 0]],
    ['hitsAddend 7, in all three places', [[20, 22, 7]], [7, 2, 4, 0]],
    ['hitsAddend 3, all over the limit', [[10, 30, 3]], [3, 3, 0, 0]],
  ])('%s', async (_case, calls, [total, over, near, within]) => {
    const registry = new Registry();
    const stats = new PeerStats(registry);
    for (const [limit, after, hits] of calls)
      stats.recordWindow('domain.key', 'domain.key', limit, after, hits, false);
    const get = async (name: string) => (await values(registry, name)).get('domain|key|') ?? 0;
    expect(await get('ratelimit_service_rate_limit_total_hits')).toBe(total);
    expect(await get('ratelimit_service_rate_limit_over_limit')).toBe(over);
    expect(await get('ratelimit_service_rate_limit_near_limit')).toBe(near);
    expect(await get('ratelimit_service_rate_limit_within_limit')).toBe(within);
  });
});

describe('bounded series', () => {
  it('gives request-built keys their own series only up to the cap, then counts them under the configured key', async () => {
    const registry = new Registry();
    const stats = new PeerStats(registry, 0.8, 3);
    for (let i = 0; i < 100; i++) stats.recordWindow(`d.k_${i}`, 'd.k', 10, 1, 1, false);
    // A limit Envoy sent has no configured key: past the cap it is not counted.
    for (let i = 0; i < 100; i++) stats.recordWindow(`d.o_${i}`, undefined, 10, 1, 1, false);
    const total = await values(registry, 'ratelimit_service_rate_limit_total_hits');
    expect(total.size).toBe(4);
    expect(total.get('d|k|')).toBe(97);
  });
});
