// Runtime list changes on a Redis Cluster: every key of the lists is under the {lists} hash tag, so the write
// script (versions hash and both sets at once) runs on one node instead of being refused with CROSSSLOT, and a
// change through one replica reaches the other.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListSync } from '../../src/decide/list-sync.js';
import { compileLists } from '../../src/lib/lists/list-definitions.js';
import { ListStore } from '../../src/lib/lists/list-store.js';
import { RedisConnections } from '../../src/lib/redis/redis-connections.js';
import { RedisListStore } from '../../src/lib/redis/redis-lists.js';
import type { RedisSettings } from '../../src/lib/redis/redis-settings.js';
import { sleep } from '../helpers/child-process.js';
import { startRedisCluster } from '../helpers/redis-server.js';
import type { RedisCluster } from '../helpers/redis-server.js';

let cluster: RedisCluster;
let settings: RedisSettings;
const opened: RedisConnections[] = [];
const syncs: ListSync[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster(3, 0);
  settings = {
    addresses: cluster.seeds.split(',').map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })),
    mode: 'cluster',
    sentinelMaster: 'mymaster',
    username: '',
    password: '',
    poolSize: 1,
    minIdleConns: 1,
    timeoutMs: 2000,
    keyPrefix: 'cl:',
    fallback: 'local',
    fallbackReplicas: 1,
    breakerFailures: 3,
    breakerCooldownMs: 300,
    localCache: false,
  };
}, 120_000);

afterAll(async () => {
  for (const s of syncs) await s.stop();
  for (const c of opened) await c.close();
  await cluster?.stop();
});

async function replica(): Promise<{ store: ListStore; sync: ListSync }> {
  const issues: { path: string; message: string }[] = [];
  const { lists } = compileLists(
    { lists: [{ name: 'nets', kind: 'ip', action: 'block', entries: ['10.0.0.0/8'] }] },
    {},
    issues,
  );
  const store = new ListStore(lists);
  const commands = new RedisConnections(settings, () => undefined);
  const subscriber = new RedisConnections(settings, () => undefined);
  opened.push(commands, subscriber);
  expect(await commands.waitReady(10_000)).toBe(true);
  expect(await subscriber.waitReady(10_000)).toBe(true);
  const sync = new ListSync(store, new RedisListStore(commands, subscriber, settings.keyPrefix), {
    intervalMs: 200,
  });
  syncs.push(sync);
  await sync.start();
  return { store, sync };
}

describe('runtime list changes on a Redis Cluster', () => {
  it('a change through one replica is written in one slot and reaches the other', async () => {
    const a = await replica();
    const b = await replica();
    const results = await Promise.all([
      a.sync.change('nets', 'add', ['192.0.2.1', '2001:db8::/48']),
      b.sync.change('nets', 'remove', ['10.0.0.0/8']),
    ]);
    expect(results.map((r) => r.version).sort()).toEqual([1, 2]);
    const deadline = Date.now() + 5000;
    while (b.sync.sharedVersion('nets') !== 2 || a.sync.sharedVersion('nets') !== 2) {
      if (Date.now() > deadline) throw new Error('the replicas did not both reach version 2');
      await sleep(20);
    }
    const expected = ['192.0.2.1', '2001:db8::/48'];
    expect([...a.store.entries('nets')!].sort()).toEqual(expected);
    expect([...b.store.entries('nets')!].sort()).toEqual(expected);
  }, 30_000);
});
