// The replicas an operator sees in /api/system/status: two edges sharing one real redis-server list each other
// (each marking itself) with their addresses and the config version each enforces; a change made on one shows
// on both; a stopped replica leaves the list. Without Redis, an edge lists only itself.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

interface Replica {
  id: string;
  self: boolean;
  hostname: string;
  admin_address: string | null;
  proxy_address: string | null;
  last_seen: string | null;
  config_version: number | null;
}
interface Status {
  replicas: Replica[];
  replicas_source: string;
  limits: { version: number };
}

let redis: RedisServer;
let upstream: RecordingUpstream;
let a: EdgeUnderTest;
let b: EdgeUnderTest;
let alone: EdgeUnderTest;
/** B is stopped by a test; the service must not be stopped twice. */
let bStopped = false;

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startRecordingUpstream();
  const env = { REDIS_ADDRESS: redis.address, UPSTREAM_HEALTH_PATH: '' };
  [a, b, alone] = await Promise.all([
    startEdge(upstream.url, env),
    startEdge(upstream.url, env),
    startEdge(upstream.url, { UPSTREAM_HEALTH_PATH: '' }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), bStopped ? undefined : b?.stop(), alone?.stop()]);
  await upstream?.close();
  await redis?.stop();
});

async function status(edge: EdgeUnderTest): Promise<Status> {
  const res = await request(`${edge.adminUrl}/api/system/status`, { headers: edge.adminHeaders });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as Status;
}

async function waitFor(edge: EdgeUnderTest, what: string, ok: (s: Status) => boolean): Promise<Status> {
  const deadline = Date.now() + 10_000;
  let last: Status | undefined;
  while (Date.now() < deadline) {
    last = await status(edge);
    if (ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${edge.adminUrl} never listed ${what}; replicas: ${JSON.stringify(last?.replicas)}`);
}

/** host:port of an edge's admin API as its replica entry names it. */
const adminAddress = (edge: EdgeUnderTest) => edge.adminUrl.replace('http://', '');

describe('replicas in the admin API', () => {
  it('lists both edges sharing Redis on each of them, each marking itself, with its addresses', async () => {
    const fromA = await waitFor(a, 'two replicas', (s) => s.replicas.length === 2);
    const fromB = await waitFor(b, 'two replicas', (s) => s.replicas.length === 2);
    expect(fromA.replicas_source).toBe('redis');

    const selfA = fromA.replicas.find((r) => r.self)!;
    const otherA = fromA.replicas.find((r) => !r.self)!;
    expect(fromA.replicas.filter((r) => r.self)).toHaveLength(1);
    expect(selfA.admin_address).toBe(adminAddress(a));
    expect(otherA.admin_address).toBe(adminAddress(b));
    expect(otherA.proxy_address).toBe(b.proxyUrl.replace('http://', ''));
    expect(otherA.hostname).not.toBe('');
    expect(Date.now() - Date.parse(otherA.last_seen!)).toBeLessThan(5000);

    // The same two replicas seen from B, with the mark on the other one.
    expect(fromB.replicas.map((r) => r.id).sort()).toEqual(fromA.replicas.map((r) => r.id).sort());
    expect(fromB.replicas.find((r) => r.self)!.id).toBe(otherA.id);
    expect(fromB.replicas.find((r) => !r.self)!.admin_address).toBe(adminAddress(a));
  });

  it('shows the config version each replica holds, and a change on one reaches both', async () => {
    const before = (await status(a)).limits.version;
    const res = await request(`${a.adminUrl}/api/tenants/team-r/limits`, {
      method: 'PUT',
      headers: { ...a.adminHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ limits: { ingestion_rate: 123 }, reason: 'replicas test' }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    const after = (await status(a)).limits.version;
    expect(after).toBeGreaterThan(before);
    // B learns the change through Redis; its heartbeat then carries the new version, as A reads it.
    const seen = await waitFor(
      a,
      `both replicas on config version ${after}`,
      (s) => s.replicas.length === 2 && s.replicas.every((r) => r.config_version === after),
    );
    expect(seen.replicas.map((r) => r.config_version)).toEqual([after, after]);
  });

  it('drops a stopped replica from the list of the one still running', async () => {
    bStopped = true;
    await b.stop();
    const s = await waitFor(a, 'only itself', (x) => x.replicas.length === 1);
    expect(s.replicas[0]).toMatchObject({ self: true, admin_address: adminAddress(a) });
  });

  it('lists only this process without Redis', async () => {
    const s = await status(alone);
    expect(s.replicas_source).toBe('process');
    expect(s.replicas).toHaveLength(1);
    expect(s.replicas[0]).toMatchObject({ self: true, admin_address: adminAddress(alone) });
  });
});
