// Replicas sharing one limits configuration through a store (an in-memory stand-in for Redis with the same
// compare-and-set contract): a change on one is the same version on all, two changes at once both survive,
// a store that lost everything is written back without spurious versions, and nothing echoes.

import { describe, expect, it } from 'vitest';
import type { ChangeMeta, ConfigVersion } from '../../../src/limits/config-history.js';
import type { ConfigHistory } from '../../../src/limits/config-history.js';
import { ConfigPropagation, rebaseChanges } from '../../../src/limits/config-propagation.js';
import type { SharedConfigStore, SharedRead } from '../../../src/limits/config-propagation.js';
import { EMPTY_CONFIG } from '../../../src/limits/limits-config.js';
import type { LimitsConfig } from '../../../src/limits/limits-config.js';
import { LimitsRegistry } from '../../../src/limits/limits-registry.js';
import type { TenantLimits } from '../../../src/limits/tenant-limits.js';

const DEFAULTS = { ingestion_rate: 10000, ingestion_burst_size: 200000 } as unknown as TenantLimits;

function meta(actor: string, tenant: string): ChangeMeta {
  return { actor, role: 'operator', source: 'api', reason: null, action: 'tenant.limits.update', tenant };
}

/** Redis's contract in memory: versions, base, CAS on the version, a notification per write. */
class MemoryStore {
  base = { version: 0, config: EMPTY_CONFIG as LimitsConfig };
  versions: ConfigVersion[] = [];
  version = 0;
  writes = 0;
  notify = true;
  private readonly listeners: ((version: number) => void)[] = [];

  client(): SharedConfigStore {
    return {
      read: async (since: number): Promise<SharedRead> => {
        await Promise.resolve();
        const out: SharedRead = { version: this.version, versions: [] };
        if (since < this.base.version) {
          out.base = this.base;
          since = this.base.version;
        }
        out.versions = this.versions.filter((v) => v.version > since);
        return out;
      },
      write: async (expected: number, history: ConfigHistory) => {
        await Promise.resolve();
        if (expected !== this.version) return this.version;
        this.versions = [
          ...this.versions.filter((v) => v.version <= expected),
          ...history.all().filter((v) => v.version > expected),
        ].filter((v) => v.version > history.base.version);
        this.base = history.base;
        this.version = history.latest;
        this.writes++;
        const version = this.version;
        if (this.notify) for (const l of this.listeners) setImmediate(() => l(version));
        return undefined;
      },
      subscribe: (onVersion: (version: number) => void, onReady: () => void) => {
        this.listeners.push(onVersion);
        setImmediate(onReady);
      },
      keepSubscribed: () => undefined,
      listening: true,
      close: async () => undefined,
    };
  }

  wipe(): void {
    this.base = { version: 0, config: EMPTY_CONFIG };
    this.versions = [];
    this.version = 0;
  }
}

async function replica(store: MemoryStore, history?: ConfigHistory) {
  const registry = new LimitsRegistry(DEFAULTS, new Map(), history ? { history } : {});
  const propagation = new ConfigPropagation(registry, store.client(), { intervalMs: 60_000 });
  registry.setPersistence(propagation);
  await propagation.start();
  return { registry, propagation };
}

/** Lets notifications and the syncs they start run to the end. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

function rate(registry: LimitsRegistry, tenant: string): number {
  return registry.forTenant(tenant).limits.ingestion_rate;
}

describe('limits configuration shared between replicas', () => {
  it('a change on one replica is in force on the others under the same version number, with no echo', async () => {
    const store = new MemoryStore();
    const a = await replica(store);
    const b = await replica(store);
    const c = await replica(store);
    a.registry.setRuntimeLimits('team-a', { ingestion_rate: 500 }, meta('alice', 'team-a'));
    await a.registry.saved();
    await settle();
    for (const r of [a, b, c]) {
      expect(rate(r.registry, 'team-a'), 'replica enforces the new limit').toBe(500);
      expect(r.registry.current().version).toBe(1);
      expect(r.registry.history.get(1)?.actor).toBe('alice');
    }
    expect(store.writes, 'only the replica that made the change writes it').toBe(1);
    await Promise.all([a, b, c].map((r) => r.propagation.stop()));
  });

  it('two replicas changing one tenant at once both keep their change', async () => {
    const store = new MemoryStore();
    const a = await replica(store);
    const b = await replica(store);
    // Both commit before either has heard of the other: the same local version number, different changes.
    a.registry.setRuntimeLimits('team-a', { ingestion_rate: 500 }, meta('alice', 'team-a'));
    b.registry.setRuntimeLimits('team-a', { ingestion_burst_size: 900 }, meta('bob', 'team-a'));
    await Promise.all([a.registry.saved(), b.registry.saved()]);
    await settle();
    for (const r of [a, b]) {
      const limits = r.registry.forTenant('team-a').limits;
      expect(limits.ingestion_rate).toBe(500);
      expect(limits.ingestion_burst_size).toBe(900);
      expect(r.registry.current().version).toBe(2);
      expect(r.registry.history.all().map((v) => v.actor)).toEqual(['alice', 'bob']);
    }
    expect(store.version).toBe(2);
    await Promise.all([a, b].map((r) => r.propagation.stop()));
  });

  it('a change made while the connection comes back waits for it; one made while it stays down says Redis', async () => {
    const store = new MemoryStore();
    const client = store.client();
    const registry = new LimitsRegistry(DEFAULTS, new Map());
    const propagation = new ConfigPropagation(registry, client, { intervalMs: 60_000, maxAttempts: 1 });
    registry.setPersistence(propagation);
    await propagation.start();
    const a = { registry, propagation };
    // What a reconnecting ioredis client does with offline queueing off: every command fails at once.
    let ready = false;
    const write = client.write.bind(client);
    client.write = async (...args) => {
      if (!ready) throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
      return write(...args);
    };
    client.waitReady = (ms: number) =>
      new Promise((resolve) => {
        const started = Date.now();
        const poll = () =>
          ready ? resolve(true) : Date.now() - started >= ms ? resolve(false) : setTimeout(poll, 5);
        poll();
      });
    setTimeout(() => (ready = true), 100);
    a.registry.setRuntimeLimits('team-a', { ingestion_rate: 500 }, meta('alice', 'team-a'));
    await expect(a.registry.saved(), 'saved once the connection is back').resolves.toBeUndefined();
    expect(store.version).toBe(1);

    ready = false;
    client.waitReady = () => Promise.resolve(false);
    const version = a.registry.setRuntimeLimits('team-a', { ingestion_rate: 600 }, meta('alice', 'team-a'));
    const err = await a.registry.saved().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain("Stream isn't writeable");
    const text = a.registry.unsavedMessage(version!.version, err!);
    expect(text).toContain('could not be shared through Redis');
    expect(text).not.toContain('STATE_DIR');
    await a.propagation.stop();
  });

  it('a change committed while the previous one is being written is written too', async () => {
    // Redis's client takes the versions when the write is sent; one committed before the answer must go next.
    const store = new MemoryStore();
    const client = store.client();
    const write = client.write.bind(client);
    client.write = async (expected, history, config) => {
      const sent = { base: history.base, latest: history.latest, versions: [...history.all()] };
      await new Promise((r) => setTimeout(r, 5));
      const frozen = { base: sent.base, latest: sent.latest, all: () => sent.versions };
      return write(expected, frozen as unknown as ConfigHistory, config);
    };
    const registry = new LimitsRegistry(DEFAULTS, new Map());
    const propagation = new ConfigPropagation(registry, client, { intervalMs: 60_000 });
    registry.setPersistence(propagation);
    await propagation.start();
    await settle(); // the sync the subscription starts is over: only the two saves write
    registry.setRuntimeLimits('team-a', { ingestion_rate: 500 }, meta('alice', 'team-a'));
    await new Promise((r) => setTimeout(r, 1)); // the first write is in flight
    registry.setRuntimeLimits('team-b', { ingestion_rate: 600 }, meta('alice', 'team-b'));
    await registry.saved();
    expect(store.version, 'both versions are in the store').toBe(2);
    await propagation.stop();
  });

  it('a missed notification is caught up by the next re-read', async () => {
    const store = new MemoryStore();
    const a = await replica(store);
    const b = await replica(store);
    await settle();
    store.notify = false;
    a.registry.setRuntimeLimits('team-a', { ingestion_rate: 700 }, meta('alice', 'team-a'));
    await a.registry.saved();
    await settle();
    expect(rate(b.registry, 'team-a'), 'without a notification nothing has arrived yet').toBe(10000);
    // What the periodic timer does.
    (b.propagation as unknown as { sync(t: string): void }).sync('periodic');
    await settle();
    expect(rate(b.registry, 'team-a')).toBe(700);
    await Promise.all([a, b].map((r) => r.propagation.stop()));
  });

  it('a store that lost everything is written back as it was, with no new versions', async () => {
    const store = new MemoryStore();
    const a = await replica(store);
    const b = await replica(store);
    a.registry.setRuntimeLimits('team-a', { ingestion_rate: 5 }, meta('alice', 'team-a'));
    a.registry.setRuntimeLimits('team-a', { ingestion_rate: 7 }, meta('alice', 'team-a'));
    await a.registry.saved();
    await settle();
    store.wipe();
    for (const r of [a, b]) (r.propagation as unknown as { sync(t: string): void }).sync('reconnect');
    await settle();
    expect(store.version).toBe(2);
    for (const r of [a, b]) {
      expect(r.registry.current().version, 'no version replayed').toBe(2);
      expect(rate(r.registry, 'team-a')).toBe(7);
    }
    await Promise.all([a, b].map((r) => r.propagation.stop()));
  });

  it('a replica starting with STATE_DIR history seeds an empty store but never overrides a full one', async () => {
    const store = new MemoryStore();
    const first = new LimitsRegistry(DEFAULTS);
    first.setRuntimeLimits('team-a', { ingestion_rate: 11 }, meta('disk', 'team-a'));
    const seeded = await replica(store, first.history);
    expect(store.version).toBe(1);
    seeded.registry.setRuntimeLimits('team-a', { ingestion_rate: 22 }, meta('alice', 'team-a'));
    await seeded.registry.saved();
    const stale = new LimitsRegistry(DEFAULTS);
    stale.setRuntimeLimits('team-a', { ingestion_rate: 99 }, meta('old-disk', 'team-a'));
    const late = await replica(store, stale.history);
    expect(rate(late.registry, 'team-a'), 'the shared config wins over an old state file').toBe(22);
    expect(late.registry.current().version).toBe(2);
    await Promise.all([seeded, late].map((r) => r.propagation.stop()));
  });
});

describe('rebaseChanges', () => {
  it('re-applies per limit, removing only what the change removed', () => {
    const config: LimitsConfig = {
      ...EMPTY_CONFIG,
      runtimeOverrides: new Map([['t', { ingestion_rate: 1, request_rate: 2 }]]),
    };
    const next = rebaseChanges(config, [
      { layer: 'runtime_limits', tenant: 't', before: { ingestion_rate: 1 }, after: null },
    ]);
    expect(next.runtimeOverrides.get('t')).toEqual({ request_rate: 2 });
  });
});
