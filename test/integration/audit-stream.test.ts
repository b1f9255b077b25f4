// The audit log shared through a Redis stream: two edges in this process share one spawned redis-server. An
// admin action on one replica is read at GET /api/audit on the other; a limits version that both replicas apply
// is listed once; entries made while Redis is down reach the other replica once it is back.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { AuditEntry } from '../../src/observe/audit/audit-log.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

const STREAM = 'rls:{limits}:audit';
let redis: RedisServer;
let upstream: RecordingUpstream;
let a: EdgeUnderTest;
let b: EdgeUnderTest;

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startRecordingUpstream();
  const env = { REDIS_ADDRESS: redis.address, CONFIG_SYNC_INTERVAL: '500ms' };
  a = await startEdge(upstream.url, env);
  b = await startEdge(upstream.url, env);
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await upstream?.close();
  await redis?.stop();
});

async function call(
  edge: EdgeUnderTest,
  method: 'GET' | 'PUT' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`${edge.adminUrl}${path}`, {
    method,
    headers: {
      ...edge.adminHeaders,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

async function auditOf(edge: EdgeUnderTest): Promise<AuditEntry[]> {
  const { status, json } = await call(edge, 'GET', '/api/audit?limit=1000');
  expect(status).toBe(200);
  return json['entries'] as AuditEntry[];
}

/** Polls `edge`'s audit until `found` holds, for at most `ms`; returns the last read. */
async function auditUntil(
  edge: EdgeUnderTest,
  found: (entries: AuditEntry[]) => boolean,
  ms = 5000,
): Promise<AuditEntry[]> {
  const deadline = Date.now() + ms;
  let entries = await auditOf(edge);
  while (!found(entries) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    entries = await auditOf(edge);
  }
  return entries;
}

describe('audit log shared through a Redis stream', () => {
  it("shows one replica's admin actions and limits changes on the other, each version once", async () => {
    const put = await call(a, 'PUT', '/api/tenants/team-a/limits', {
      limits: { ingestion_rate: 5000 },
      reason: 'INC-1 noisy tenant',
    });
    expect(put.status).toBe(200);
    const mode = await call(a, 'POST', '/api/system/mode', { mode: 'dry-run', reason: 'INC-1 drill' });
    expect(mode.status).toBe(200);

    const onB = await auditUntil(
      b,
      (es) =>
        es.some((e) => e.action === 'system.mode.update' && e.reason === 'INC-1 drill') &&
        es.some((e) => e.reason === 'INC-1 noisy tenant'),
    );
    const change = onB.filter((e) => e.reason === 'INC-1 noisy tenant');
    // Both replicas applied the version; the shared log lists it once, as the replica that made it wrote it.
    expect(change, "replica B's audit of replica A's limits change").toHaveLength(1);
    expect(change[0]).toMatchObject({ tenant: 'team-a', source: 'api', role: 'admin' });
    expect(change[0]!.version).toBeGreaterThan(0);
    const modeEntry = onB.find((e) => e.action === 'system.mode.update')!;
    expect(modeEntry).toMatchObject({ after: { mode: 'dry-run' }, replica_id: mode.json['audit_id'] });

    // The same log on both replicas, newest first, with ids that are unique across replicas.
    const onA = await auditUntil(a, (es) => es.length === onB.length && es[0]!.id === onB[0]!.id);
    expect(onA.map((e) => e.id)).toEqual(onB.map((e) => e.id));
    expect(new Set(onB.map((e) => e.id)).size).toBe(onB.length);

    // An operator can read the stream itself.
    const raw = await redis.cli('XRANGE', STREAM, '-', '+');
    expect(raw).toContain('INC-1 drill');
    expect(raw.split('INC-1 noisy tenant').length - 1).toBe(1);
  }, 30_000);

  it('an action taken while Redis is down reaches the other replica once Redis is back', async () => {
    await redis.kill();
    const mode = await call(b, 'POST', '/api/system/mode', { mode: 'enforce', reason: 'INC-2 while down' });
    expect(mode.status, 'the admin API answers while Redis is down').toBe(200);
    // Not in Redis, but this replica still shows what it did.
    expect((await auditOf(b)).some((e) => e.reason === 'INC-2 while down')).toBe(true);
    await redis.restart();
    const onA = await auditUntil(a, (es) => es.some((e) => e.reason === 'INC-2 while down'), 10_000);
    expect(
      onA.filter((e) => e.reason === 'INC-2 while down'),
      "replica A's audit after Redis came back",
    ).toHaveLength(1);
  }, 40_000);
});
