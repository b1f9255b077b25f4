// Progressive penalties shared through a real redis-server: two engine instances (two replicas) with one
// Redis, a block set through one is enforced by the other, a lift through either ends it for both, the
// keys carry a TTL, and the Lua script climbs and decays the ladder exactly as the in-process box does.

import fc from 'fast-check';
import { Redis } from 'ioredis';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../src/lib/policy/policy-engine.js';
import { loadPolicySet } from '../../src/lib/policy/policy-set.js';
import { InProcessPenaltyBox } from '../../src/lib/policy/penalty-box.js';
import type { PenaltyRule } from '../../src/lib/policy/penalty.js';
import { RedisPenaltyBox } from '../../src/lib/redis/redis-penalties.js';
import { RedisPolicyLimits } from '../../src/lib/redis/redis-policy-limits.js';
import { sleep } from '../helpers/child-process.js';
import { startEdge } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { freePort } from '../helpers/ports.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

const SET = `
policies:
  - name: login
    match: { scope: ip, path: /login }
    limit: { algorithm: fixed_window, limit: 1, window: 1h }
    penalty: { after: 2, window: 1m, durations: [1h, 2h] }
`;

let redis: RedisServer;
const clients: Redis[] = [];

function client(): Redis {
  const c = new Redis({
    host: '127.0.0.1',
    port: redis.port,
    enableOfflineQueue: false,
    commandTimeout: 2000,
  });
  clients.push(c);
  return c;
}

async function ready(c: Redis): Promise<Redis> {
  if (c.status !== 'ready') await new Promise((resolve) => c.once('ready', resolve));
  return c;
}

beforeAll(async () => {
  redis = await startRedisServer();
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

async function until(
  what: string,
  test: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await test()) return Date.now() - started;
    await sleep(20);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

describe('penalties shared through Redis', () => {
  it('a block set through one replica is enforced by the other, and a lift through it ends it for both', async () => {
    const limitsA = new RedisPolicyLimits(await ready(client()), {
      keyPrefix: 'pen1:',
      penaltyRefreshMs: 100,
    });
    const limitsB = new RedisPolicyLimits(await ready(client()), {
      keyPrefix: 'pen1:',
      penaltyRefreshMs: 100,
    });
    const a = new PolicyEngine(loadPolicySet(SET), limitsA);
    const b = new PolicyEngine(loadPolicySet(SET), limitsB);
    const login = { ip: '198.51.100.20', path: '/login' };
    const elsewhere = { ip: '198.51.100.20', path: '/home' };
    try {
      // B looks first, so its mirror is polling before anything happens.
      expect((await b.decide(elsewhere, Date.now())).allowed).toBe(true);
      expect((await a.decide(login, Date.now())).allowed).toBe(true);
      expect((await b.decide(login, Date.now())).outcome).toBe('rate_limited'); // one shared counter
      expect((await a.decide(login, Date.now())).outcome).toBe('rate_limited'); // 2 denials: blocked
      // A enforces it as soon as Redis answered; B within its refresh interval.
      await until('A enforces', () => a.evaluate(elsewhere, Date.now()).outcome === 'blocked');
      const tookB = await until('B enforces', () => b.evaluate(elsewhere, Date.now()).outcome === 'blocked');
      expect(tookB).toBeLessThan(1000);
      const onB = b.evaluate(elsewhere, Date.now()).block!;
      expect(onB).toMatchObject({
        policy: 'login',
        key: '198.51.100.20',
        level: 1,
        reason: '2 denials within 1m',
      });
      expect(onB.endMs - onB.startMs).toBe(3_600_000);
      // Both list it; the record has a TTL (it is forgotten once its level has decayed: 1h + 24h).
      expect((await a.penalties.active(Date.now())).map((x) => x.key)).toEqual(['198.51.100.20']);
      const ttl = await clients[0]!.pttl('pen1:{penalties}:s:login/198.51.100.20');
      expect(ttl).toBeGreaterThan(24 * 3_600_000);
      expect(ttl).toBeLessThanOrEqual(25 * 3_600_000);

      expect(await b.penalties.lift('login', '198.51.100.20', Date.now())).toBe(true);
      expect(b.evaluate(elsewhere, Date.now()).allowed).toBe(true);
      await until('A sees the lift', () => a.evaluate(elsewhere, Date.now()).allowed);
      expect(await a.penalties.active(Date.now())).toEqual([]);
      expect(await clients[0]!.exists('pen1:{penalties}:s:login/198.51.100.20')).toBe(0);
    } finally {
      await limitsA.close();
      await limitsB.close();
    }
  });

  it('a replica whose copy is behind learns of a block from its next denial of that identity', async () => {
    // B never refreshes on its own during the test: only the denial's answer can tell it.
    const limitsA = new RedisPolicyLimits(await ready(client()), { keyPrefix: 'pen3:' });
    const limitsB = new RedisPolicyLimits(await ready(client()), {
      keyPrefix: 'pen3:',
      penaltyRefreshMs: 600_000,
    });
    const a = new PolicyEngine(loadPolicySet(SET), limitsA);
    const b = new PolicyEngine(loadPolicySet(SET), limitsB);
    const login = { ip: '198.51.100.21', path: '/login' };
    try {
      await limitsB.penalties.refresh(); // B's copy: empty, as of now
      limitsB.penalties.start();
      await a.decide(login, Date.now());
      await a.decide(login, Date.now());
      await a.decide(login, Date.now());
      await until('A enforces', () => a.evaluate(login, Date.now()).outcome === 'blocked');
      expect(b.evaluate({ ...login, path: '/home' }, Date.now()).allowed).toBe(true); // not yet known
      expect((await b.decide(login, Date.now())).outcome).toBe('rate_limited'); // its denial asks Redis
      await until(
        'B enforces',
        () => b.evaluate({ ...login, path: '/home' }, Date.now()).outcome === 'blocked',
      );
    } finally {
      await limitsA.close();
      await limitsB.close();
    }
  });

  it('counts denials in process while Redis cannot be reached, and still blocks', async () => {
    const unreachable = new Redis({
      host: '127.0.0.1',
      port: await freePort(),
      enableOfflineQueue: false,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    unreachable.on('error', () => undefined);
    const box = new RedisPenaltyBox(unreachable);
    const rule: PenaltyRule = { after: 2, windowMs: 60_000, durationsMs: [60_000], decayMs: 3_600_000 };
    const t = Date.now();
    try {
      expect(await box.offend('p', rule, 'k', t)).toBeUndefined();
      expect(await box.offend('p', rule, 'k', t)).toMatchObject({ level: 1, endMs: t + 60_000 });
      expect(box.blockOf('p', 'k', t + 1)).toMatchObject({ level: 1 });
      expect((await box.active(t + 1)).map((b) => b.key)).toEqual(['k']);
      expect(box.activeCount(t + 1)).toBe(1);
    } finally {
      box.close();
      unreachable.disconnect();
    }
  });

  it('the Lua script climbs, caps and decays the ladder exactly as the in-process box, on a held clock', async () => {
    const c = await ready(client());
    const rule: PenaltyRule = {
      after: 2,
      windowMs: 10_000,
      durationsMs: [1000, 5000, 20_000],
      decayMs: 60_000,
    };
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 90_000 }), { minLength: 1, maxLength: 25 }),
        async (gaps) => {
          const shared = new RedisPenaltyBox(c, { keyPrefix: `pen2:${run++}:`, clock: 'caller' });
          const local = new InProcessPenaltyBox();
          let t = Date.parse('2026-01-01T00:00:00Z');
          for (const gap of gaps) {
            t += gap;
            const expected = local.offend('p', rule, 'k', t);
            const got = await shared.offend('p', rule, 'k', t);
            expect(
              got === undefined ? undefined : { level: got.level, start: got.startMs, end: got.endMs },
            ).toEqual(
              expected === undefined
                ? undefined
                : { level: expected.level, start: expected.startMs, end: expected.endMs },
            );
          }
          expect((await shared.active(t)).map((x) => x.endMs)).toEqual(local.active(t).map((x) => x.endMs));
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('two service replicas with REDIS_ADDRESS', () => {
  it('enforce, list and lift one block: started through one proxy, refused by the other', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'penalties-redis-')), 'policies.yaml');
    writeFileSync(file, SET);
    const upstream = await startRecordingUpstream();
    const env = { POLICY_FILE: file, TRUSTED_PROXIES: '127.0.0.1', REDIS_ADDRESS: redis.address };
    const edges = [await startEdge(upstream.url, env), await startEdge(upstream.url, env)];
    const [a, b] = edges as [(typeof edges)[0], (typeof edges)[0]];
    const get = async (edge: typeof a, path: string) => {
      const res = await request(`${edge.proxyUrl}${path}`, {
        headers: { 'x-forwarded-for': '198.51.100.90' },
      });
      await res.body.dump();
      return { status: res.statusCode, retryAfter: res.headers['retry-after'] };
    };
    try {
      expect((await get(b, '/home')).status).toBe(200);
      expect((await get(a, '/login')).status).toBe(200);
      expect((await get(b, '/login')).status).toBe(429);
      expect((await get(a, '/login')).status).toBe(429);
      await until('A refuses', async () => (await get(a, '/home')).status === 403);
      await until('B refuses', async () => (await get(b, '/home')).status === 403);
      expect(Number((await get(b, '/home')).retryAfter)).toBeGreaterThan(3500);
      const listed = (await (
        await request(`${b.adminUrl}/api/blocks`, { headers: b.adminHeaders })
      ).body.json()) as { blocks: { id: string; policy: string; identity: string }[] };
      expect(listed.blocks).toMatchObject([{ policy: 'login', identity: '198.51.100.90' }]);
      const lift = await request(`${b.adminUrl}/api/blocks/${listed.blocks[0]!.id}`, {
        method: 'DELETE',
        headers: b.adminHeaders,
      });
      expect(lift.statusCode).toBe(200);
      await lift.body.dump();
      await until('A lets it through', async () => (await get(a, '/home')).status === 200);
      const metrics = await (await request(a.metricsUrl)).body.text();
      expect(metrics).toMatch(/^rls_policy_blocks_total\{policy="login",level="1"\} 1$/m);
    } finally {
      for (const e of edges) await e.stop();
      await upstream.close();
    }
  }, 30_000);
});
