// Policy limits shared through Redis. Two service instances with the same POLICY_FILE and REDIS_ADDRESS
// (two replicas) enforce one global limit between them; the engine decides in Redis exactly as in
// process; with Redis killed, requests keep being decided (locally, from this replica's share), and
// once Redis is back the counters are shared again.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../src/lib/policy/policy-engine.js';
import { loadPolicySet } from '../../src/lib/policy/policy-set.js';
import type { RequestContext } from '../../src/lib/policy/request-context.js';
import { RedisConnections } from '../../src/lib/redis/redis-connections.js';
import { RedisPolicyLimits } from '../../src/lib/redis/redis-policy-limits.js';
import type { RedisSettings } from '../../src/lib/redis/redis-settings.js';
import { sleep } from '../helpers/child-process.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

const LIMIT = 20;
const POLICIES = `
policies:
  - name: per-key
    match: { scope: api_key, path: /api/* }
    limit: { algorithm: sliding_window_log, limit: ${LIMIT}, window: 1h }
  - name: per-ip-burst
    match: { scope: ip }
    limit: { algorithm: token_bucket, rate: 0.01, burst: 1000 }
`;

let redis: RedisServer;
let upstream: RecordingUpstream;
let edges: EdgeUnderTest[] = [];
let client: Redis;

beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis({ host: '127.0.0.1', port: redis.port });
  client.on('error', () => undefined); // it is killed on purpose below
  upstream = await startRecordingUpstream();
  const file = join(mkdtempSync(join(tmpdir(), 'policy-redis-')), 'policies.yaml');
  writeFileSync(file, POLICIES);
  const env = {
    POLICY_FILE: file,
    TRUSTED_PROXIES: '127.0.0.1',
    REDIS_ADDRESS: redis.address,
    REDIS_BREAKER_COOLDOWN: '300ms',
    REDIS_FALLBACK_REPLICAS: '2',
    // A loaded machine can take past the 100 ms default to answer: a timed-out call falls back to the local share,
    // and the sharing test would count the fallback's admissions. Killing Redis below still fails calls at once.
    REDIS_TIMEOUT: '2s',
  };
  edges = [await startEdge(upstream.url, env), await startEdge(upstream.url, env)];
}, 30_000);

afterAll(async () => {
  for (const e of edges) await e.stop();
  client?.disconnect();
  await upstream?.close();
  await redis?.stop();
});

interface SystemStatus {
  status: string;
  policies: { shared: boolean; fallback: boolean };
}

async function systemStatus(edge: EdgeUnderTest): Promise<SystemStatus> {
  const res = await request(`${edge.adminUrl}/api/system/status`, { headers: edge.adminHeaders });
  return (await res.body.json()) as SystemStatus;
}

/** Polls the status until the policy fallback is `expected`; returns how long that took. */
async function waitForPolicyFallback(
  edge: EdgeUnderTest,
  expected: boolean,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if ((await systemStatus(edge)).policies.fallback === expected) return Date.now() - started;
    await sleep(50);
  }
  throw new Error(`policies.fallback did not become ${expected} within ${timeoutMs} ms`);
}

async function get(edge: EdgeUnderTest, path: string, apiKey: string): Promise<number> {
  const res = await request(`${edge.proxyUrl}${path}`, { headers: { 'x-api-key': apiKey } });
  await res.body.dump();
  return res.statusCode;
}

describe('two replicas with one POLICY_FILE and one Redis', () => {
  it('share one policy limit: together they allow exactly the limit', async () => {
    const before = upstream.requests.length;
    const statuses = await Promise.all(
      Array.from({ length: 3 * LIMIT }, (_, i) => get(edges[i % 2]!, '/api/items', 'shared-key')),
    );
    const allowed = statuses.filter((s) => s === 200).length;
    expect(allowed, `the two replicas allowed ${allowed} requests against one limit of ${LIMIT}`).toBe(LIMIT);
    expect(
      statuses.filter((s) => s !== 200 && s !== 429),
      'no request should fail',
    ).toEqual([]);
    expect(upstream.requests.length - before).toBe(LIMIT);
    const keys = await client.keys('*policy:*');
    expect(keys).toContain('rls:policy:{per-key:sliding_window_log:shared-key}');
  });

  it('keep deciding while Redis is down, and share the counters again once it is back', async () => {
    for (const e of edges) {
      expect((await systemStatus(e)).policies).toEqual({ shared: true, fallback: false });
      expect(sumMetric(await scrapeMetrics(e.metricsUrl), 'rls_policy_store_fallback')).toBe(0);
    }
    await redis.kill();
    const during: number[] = [];
    for (let i = 0; i < 30; i++) during.push(await get(edges[i % 2]!, '/api/items', 'while-down'));
    expect(
      during.filter((s) => s !== 200 && s !== 429),
      'no request should fail while Redis is down',
    ).toEqual([]);
    // Each replica holds half the limit while it cannot reach the others.
    expect(during.filter((s) => s === 200).length).toBe(LIMIT);
    // The mode change is visible: status (degraded) and the gauge, on both replicas.
    for (const e of edges) {
      const st = await systemStatus(e);
      expect(st.policies).toEqual({ shared: true, fallback: true });
      expect(st.status).toBe('degraded');
      expect(sumMetric(await scrapeMetrics(e.metricsUrl), 'rls_policy_store_fallback')).toBe(1);
    }

    await redis.restart();
    // The probe finds Redis again without any request being needed, within seconds.
    for (const e of edges) {
      expect(await waitForPolicyFallback(e, false, 5000)).toBeLessThan(5000);
      expect(sumMetric(await scrapeMetrics(e.metricsUrl), 'rls_policy_store_fallback')).toBe(0);
    }
    const deadline = Date.now() + 10_000;
    let shared = false;
    while (!shared && Date.now() < deadline) {
      await get(edges[0]!, '/api/items', 'after-restart');
      await get(edges[1]!, '/api/items', 'after-restart');
      const fresh = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
      try {
        await fresh.connect();
        shared = (await fresh.exists('rls:policy:{per-key:sliding_window_log:after-restart}')) === 1;
      } catch {
        // Not accepting connections yet.
      } finally {
        fresh.disconnect();
      }
      if (!shared) await sleep(200);
    }
    expect(shared, 'policy counters should be back in Redis within seconds of it returning').toBe(true);
    // The restarted Redis had no scripts: the policy limiter sent its script again, and says so.
    expect(
      sumMetric(await scrapeMetrics(edges[0]!.metricsUrl), 'rls_store_script_reloads_total'),
    ).toBeGreaterThanOrEqual(1);
  }, 30_000);
});

describe('the engine over Redis', () => {
  it('decides any sequence of requests as the in-process engine does (several policies at once)', async () => {
    const text = `
policies:
  - name: user-window
    match: { scope: user }
    limit: { algorithm: fixed_window, limit: 3, window: 1d }
  - name: path-log
    match: { scope: ip, path: /a/* }
    limit: { algorithm: sliding_window_log, limit: 3, window: 1h }
  - name: shadow-tight
    shadow: true
    match: { scope: ip }
    limit: { algorithm: gcra, limit: 2, period: 1h }
  - name: jobs
    match: { scope: user, path: /jobs }
    limit: { algorithm: concurrency, limit: 2 }
`;
    const settings: RedisSettings = {
      addresses: [{ host: '127.0.0.1', port: redis.port }],
      mode: 'standalone',
      sentinelMaster: '',
      username: '',
      password: '',
      poolSize: 2,
      minIdleConns: 1,
      timeoutMs: 1000,
      keyPrefix: 'eq:',
      fallback: 'local',
      fallbackReplicas: 1,
      breakerFailures: 3,
      breakerCooldownMs: 1000,
      localCache: false,
    };
    const connections = new RedisConnections(settings, () => undefined);
    expect(await connections.waitReady(5000)).toBe(true);
    let round = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              user: fc.constantFrom('ann', 'bob'),
              ip: fc.constantFrom('10.0.0.1', '10.0.0.2'),
              path: fc.constantFrom('/a/1', '/a/2', '/b', '/jobs'),
              done: fc.boolean(),
            }),
            { minLength: 1, maxLength: 30 },
          ),
          async (requests) => {
            const limits = new RedisPolicyLimits(connections, {
              keyPrefix: `eq${round++}:`,
              breakerFailures: 3,
              breakerCooldownMs: 1000,
              replicas: () => 1,
              now: Date.now,
            });
            const local = new PolicyEngine(loadPolicySet(text));
            const shared = new PolicyEngine(loadPolicySet(text), limits);
            const now = Date.now();
            for (const r of requests) {
              const ctx: RequestContext = {
                method: 'GET',
                path: r.path,
                headers: {},
                ip: r.ip,
                user: r.user,
              };
              const want = local.evaluate(ctx, now);
              const got = await shared.decide(ctx, now);
              const seen = (e: typeof want) => ({
                allowed: e.allowed,
                outcome: e.outcome,
                by: e.decision?.policy,
                remaining: e.decision?.remaining,
                shadowDenied: e.shadowDenied,
              });
              expect(seen(got), `${r.user} ${r.ip} ${r.path}`).toEqual(seen(want));
              if (r.done) {
                local.release(want, now);
                shared.release(got, now);
                await sleep(1); // the release is sent in its own batch
              }
            }
          },
        ),
        { numRuns: 40 },
      );
    } finally {
      await connections.close();
    }
  }, 60_000);
});
