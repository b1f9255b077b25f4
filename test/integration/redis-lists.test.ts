// Runtime list changes shared through a real redis-server: two (then three) service replicas with one Redis
// and one policy set; an entry added through one blocks the client on the other, a removal through the other
// lets it through on the first, a replica started later has the entry, every replica shows the same shared
// version, the audit entry is on the replica that made the change, and Redis down refuses a change whole.
// Below that, ListSync itself: two stores racing on one list, and a Redis that restarted empty.

import { Redis } from 'ioredis';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListStore } from '../../src/lib/lists/list-store.js';
import { compileLists } from '../../src/lib/lists/list-definitions.js';
import { RedisConnections } from '../../src/lib/redis/redis-connections.js';
import { RedisListStore } from '../../src/lib/redis/redis-lists.js';
import { ListShareError, ListSync } from '../../src/decide/list-sync.js';
import { loadSettings } from '../../src/settings/settings.js';
import { sleep } from '../helpers/child-process.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

const SET = `
lists:
  - name: bad-nets
    kind: ip
    action: block
    entries: ['203.0.113.0/24']
policies:
  - name: per-ip
    match: { scope: ip }
    limit: { algorithm: token_bucket, rate: 1000, burst: 1000 }
`;

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
}, 30_000);

afterAll(async () => {
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

async function get(edge: EdgeUnderTest, ip: string): Promise<number> {
  const res = await request(`${edge.proxyUrl}/home`, { headers: { 'x-forwarded-for': ip } });
  await res.body.dump();
  return res.statusCode;
}

async function change(
  edge: EdgeUnderTest,
  method: 'POST' | 'DELETE',
  entries: string[],
): Promise<{ status: number; body: Record<string, unknown>; retryAfter: unknown }> {
  const res = await request(`${edge.adminUrl}/api/lists/bad-nets/entries`, {
    method,
    headers: { ...edge.adminHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ entries, reason: 'test' }),
  });
  return {
    status: res.statusCode,
    body: (await res.body.json()) as Record<string, unknown>,
    retryAfter: res.headers['retry-after'],
  };
}

async function listInfo(
  edge: EdgeUnderTest,
): Promise<{ version: number; shared_version: number | null; size: number }> {
  const res = await request(`${edge.adminUrl}/api/lists/bad-nets`, { headers: edge.adminHeaders });
  return (await res.body.json()) as { version: number; shared_version: number | null; size: number };
}

async function audit(
  edge: EdgeUnderTest,
): Promise<{ action: string; source_version: number; diff: unknown; replica_id: unknown }[]> {
  const res = await request(`${edge.adminUrl}/api/audit`, { headers: edge.adminHeaders });
  const body = (await res.body.json()) as {
    entries: { action: string; source_version: number; diff: unknown; replica_id: unknown }[];
  };
  return body.entries.filter((e) => e.action.startsWith('list.entries.'));
}

describe('service replicas sharing runtime list changes through Redis', () => {
  it('an entry added through A blocks on B, removed through B passes on A, a later C has the state', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lists-redis-')), 'policies.yaml');
    writeFileSync(file, SET);
    const upstream = await startRecordingUpstream();
    const env = {
      POLICY_FILE: file,
      TRUSTED_PROXIES: '127.0.0.1',
      REDIS_ADDRESS: redis.address,
      REDIS_KEY_PREFIX: 'lists1:',
    };
    const edges: EdgeUnderTest[] = [];
    try {
      edges.push(await startEdge(upstream.url, env), await startEdge(upstream.url, env));
      const [a, b] = edges as [EdgeUnderTest, EdgeUnderTest];
      expect(await get(b, '198.51.100.7')).toBe(200);
      expect((await listInfo(a)).shared_version).toBe(0);

      const added = await change(a, 'POST', ['198.51.100.7']);
      expect(added).toMatchObject({ status: 200, body: { added: ['198.51.100.7'], version: 1 } });
      expect(await get(a, '198.51.100.7')).toBe(403); // in force on A at once
      const tookB = await until('B blocks the client', async () => (await get(b, '198.51.100.7')) === 403);
      expect(tookB).toBeLessThan(2000);
      expect(await get(b, '198.51.100.8')).toBe(200); // only that address

      const removed = await change(b, 'DELETE', ['198.51.100.7', '203.0.113.0/24']);
      expect(removed).toMatchObject({
        status: 200,
        body: { removed: ['198.51.100.7', '203.0.113.0/24'], version: 2 },
      });
      const tookA = await until(
        'A lets the client through',
        async () => (await get(a, '198.51.100.7')) === 200,
      );
      expect(tookA).toBeLessThan(2000);
      await until('A lets the policy-set range through', async () => (await get(a, '203.0.113.9')) === 200);

      // An entry added again through A, and a third replica started afterwards: it has the shared state.
      expect((await change(a, 'POST', ['2001:db8:bad::/48'])).body).toMatchObject({ version: 3 });
      edges.push(await startEdge(upstream.url, env));
      const c = edges[2]!;
      const blockedV6 = await request(`${c.proxyUrl}/home`, {
        headers: { 'x-forwarded-for': '2001:db8:bad::1' },
      });
      await blockedV6.body.dump();
      expect(blockedV6.statusCode).toBe(403);
      expect(await get(c, '203.0.113.9')).toBe(200);
      expect(await get(c, '198.51.100.7')).toBe(200);

      // One shared version on every replica, and the same entries in force.
      await until('every replica at version 3', async () => {
        const infos = await Promise.all(edges.map(listInfo));
        return infos.every((i) => i.shared_version === 3 && i.size === 1);
      });

      // One audit entry per change (the replicas that only applied it add none), written by the replica that
      // made it, with the shared version; the audit log is shared too (REDIS_ADDRESS), so C reads it.
      const entries = (await audit(c)).sort((x, y) => x.source_version - y.source_version);
      expect(entries.map((e) => [e.action, e.source_version])).toEqual([
        ['list.entries.add', 1],
        ['list.entries.remove', 2],
        ['list.entries.add', 3],
      ]);
      expect(entries[1]).toMatchObject({
        diff: { list: 'bad-nets', removed: ['198.51.100.7', '203.0.113.0/24'] },
      });
      // replica_id is the entry's number in the log of the replica that wrote it: the audit_id it answered.
      expect(entries[0]!.replica_id).toBe(added.body['audit_id']);
      expect(entries[1]!.replica_id).toBe(removed.body['audit_id']);

      const metrics = await (await request(b.metricsUrl)).body.text();
      expect(metrics).toMatch(/^rls_list_syncs_total\{trigger="change",result="written"\} 1$/m);
      expect(metrics).toMatch(
        /^rls_list_syncs_total\{trigger="(notification|periodic)",result="applied"\} [1-9]/m,
      );

      // Redis gone: a change is refused with 503 and changes nothing, here or anywhere.
      await redis.kill();
      const refused = await change(a, 'POST', ['192.0.2.1']);
      expect(refused.status).toBe(503);
      expect(refused.retryAfter).toBe('5');
      expect(String(refused.body['error'])).toMatch(/Redis .*nothing changed on any replica/);
      expect(await get(a, '192.0.2.1')).toBe(200);
      expect((await listInfo(a)).shared_version).toBe(3);
      // Enforcement goes on from memory meanwhile.
      const stillBlocked = await request(`${a.proxyUrl}/home`, {
        headers: { 'x-forwarded-for': '2001:db8:bad::2' },
      });
      await stillBlocked.body.dump();
      expect(stillBlocked.statusCode).toBe(403);
    } finally {
      for (const e of edges) await e.stop();
      await upstream.close();
      await redis.restart();
    }
  }, 40_000);
});

function listStore(): ListStore {
  const issues: { path: string; message: string }[] = [];
  const compiled = compileLists(
    { lists: [{ name: 'nets', kind: 'ip', action: 'block', entries: ['10.0.0.0/8'] }] },
    {},
    issues,
  );
  expect(issues).toEqual([]);
  return new ListStore(compiled.lists);
}

describe('ListSync with a real Redis', () => {
  const opened: RedisConnections[] = [];
  const syncs: ListSync[] = [];
  const settings = () =>
    loadSettings({ UPSTREAM_URL: 'http://127.0.0.1:1', REDIS_ADDRESS: redis.address }, []).redis;

  async function replica(prefix: string, store = listStore()): Promise<{ store: ListStore; sync: ListSync }> {
    const commands = new RedisConnections(settings(), () => undefined);
    const subscriber = new RedisConnections(settings(), () => undefined);
    opened.push(commands, subscriber);
    expect(await commands.waitReady(3000)).toBe(true);
    expect(await subscriber.waitReady(3000)).toBe(true);
    const sync = new ListSync(store, new RedisListStore(commands, subscriber, prefix), { intervalMs: 200 });
    syncs.push(sync);
    return { store, sync };
  }

  afterAll(async () => {
    for (const s of syncs) await s.stop();
    for (const c of opened) await c.close();
  });

  it('changes racing through two replicas all land, with one version sequence', async () => {
    const a = await replica('race:');
    const b = await replica('race:');
    await Promise.all([a.sync.start(), b.sync.start()]);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).sync.change('nets', 'add', [`192.0.2.${i}`]),
      ),
    );
    // Each change got its own version, 1 to 10, whichever replica wrote it.
    expect(results.map((r) => r.version).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await until(
      'both at version 10',
      () => a.sync.sharedVersion('nets') === 10 && b.sync.sharedVersion('nets') === 10,
    );
    const expected = ['10.0.0.0/8', ...Array.from({ length: 10 }, (_, i) => `192.0.2.${i}`)].sort();
    expect([...a.store.entries('nets')!].sort()).toEqual(expected);
    expect([...b.store.entries('nets')!].sort()).toEqual(expected);
    // A bad entry is refused before Redis is asked: nothing changes, no version is taken.
    await expect(a.sync.change('nets', 'add', ['not-an-ip'])).rejects.toMatchObject({ status: 400 });
    await expect(a.sync.change('nope', 'add', ['192.0.2.1'])).rejects.toMatchObject({ status: 404 });
    expect(a.sync.sharedVersion('nets')).toBe(10);
  }, 20_000);

  it('a change of 10,000 entries (the most one request may carry) goes through one script and back', async () => {
    const a = await replica('big:');
    const b = await replica('big:');
    await Promise.all([a.sync.start(), b.sync.start()]);
    const many = Array.from({ length: 10_000 }, (_, i) => `172.16.${i >> 8}.${i & 255}`);
    expect((await a.sync.change('nets', 'add', many)).changed).toHaveLength(10_000);
    await until('B holds them', () => b.store.info('nets')!.size === 10_001);
    expect(b.store.index.effects({ ip: '172.16.39.15' })).toBe(a.store.index.effects({ ip: '172.16.39.15' }));
    expect((await b.sync.change('nets', 'remove', many)).version).toBe(2);
    await until('A dropped them', () => a.store.info('nets')!.size === 1);
  }, 20_000);

  it('a runtime entry that a file reload made moot comes back when the file drops it again', async () => {
    const a = await replica('moot:');
    const b = await replica('moot:');
    await Promise.all([a.sync.start(), b.sync.start()]);
    await a.sync.change('nets', 'add', ['192.0.2.60']);
    await until('B has it', () => b.store.entries('nets')!.includes('192.0.2.60'));
    // B's file gains the entry (the runtime addition is now simply in the file), then loses it again.
    b.store.setFileEntries('nets', ['10.0.0.0/8', '192.0.2.60']);
    b.store.setFileEntries('nets', ['10.0.0.0/8']);
    expect(b.store.entries('nets')).toEqual(['10.0.0.0/8']);
    await until('B holds the shared addition again', () => b.store.entries('nets')!.includes('192.0.2.60'));
  }, 20_000);

  it('a Redis that restarted empty is written back above the version replicas had', async () => {
    const a = await replica('restart:');
    await a.sync.start();
    await a.sync.change('nets', 'add', ['192.0.2.50']);
    await a.sync.change('nets', 'remove', ['10.0.0.0/8']);
    expect(a.sync.sharedVersion('nets')).toBe(2);
    const direct = new Redis({ host: '127.0.0.1', port: redis.port });
    try {
      await direct.del(
        'restart:{lists}:versions',
        'restart:{lists}:ip:nets:added',
        'restart:{lists}:ip:nets:removed',
      );
      await until(
        'A writes its sets back',
        async () => (await direct.hget('restart:{lists}:versions', 'ip:nets')) === '3',
      );
      expect(await direct.smembers('restart:{lists}:ip:nets:added')).toEqual(['192.0.2.50']);
      expect(await direct.smembers('restart:{lists}:ip:nets:removed')).toEqual(['10.0.0.0/8']);
      // A replica started now takes that state, and the next change goes on from there.
      const b = await replica('restart:');
      await b.sync.start();
      expect(b.sync.sharedVersion('nets')).toBe(3);
      expect(b.store.entries('nets')).toEqual(['192.0.2.50']);
      expect((await b.sync.change('nets', 'add', ['10.0.0.0/8'])).version).toBe(4);
      await until('A sees it', () => a.store.entries('nets')!.includes('10.0.0.0/8'));
    } finally {
      direct.disconnect();
    }
  }, 20_000);

  it('runtime changes restored from STATE_DIR seed a Redis that has none, and lose to one that has some', async () => {
    const restored = listStore();
    restored.add('nets', ['192.0.2.77']); // as ListStateFile.restore() does before sharing starts
    const a = await replica('seed:', restored);
    await a.sync.start();
    expect(a.sync.sharedVersion('nets')).toBe(1);
    const b = await replica('seed:');
    await b.sync.start();
    expect(b.store.entries('nets')).toEqual(['10.0.0.0/8', '192.0.2.77']);
    // A replica whose STATE_DIR is older than Redis takes what Redis holds.
    const stale = listStore();
    stale.remove('nets', ['10.0.0.0/8']);
    const c = await replica('seed:', stale);
    await c.sync.start();
    expect(c.store.entries('nets')).toEqual(['10.0.0.0/8', '192.0.2.77']);
    expect(c.sync.sharedVersion('nets')).toBe(1);
  }, 20_000);

  it('refuses a change while Redis cannot be reached, and changes nothing', async () => {
    const commands = new RedisConnections(
      { ...settings(), addresses: [{ host: '127.0.0.1', port: 1 }] },
      () => undefined,
    );
    const subscriber = new RedisConnections(
      { ...settings(), addresses: [{ host: '127.0.0.1', port: 1 }] },
      () => undefined,
    );
    opened.push(commands, subscriber);
    const store = listStore();
    const sync = new ListSync(store, new RedisListStore(commands, subscriber, 'down:'), {
      intervalMs: 60_000,
    });
    syncs.push(sync);
    await sync.start();
    const err: unknown = await sync.change('nets', 'add', ['192.0.2.1']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListShareError);
    expect(store.entries('nets')).toEqual(['10.0.0.0/8']);
    expect(store.info('nets')!.version).toBe(1);
  }, 20_000);
});
