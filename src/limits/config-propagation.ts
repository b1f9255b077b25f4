// Keeps every replica's limits configuration equal to the shared one (Redis): a local change is written with the
// version it builds on as the guard; a replica that loses that race takes the winner's versions and re-applies its
// own change on top. A notification, a reconnect or the periodic re-read brings other replicas' versions in.

import { ConfigHistory, DEFAULT_RETAINED_VERSIONS } from './config-history.js';
import type { ConfigVersion } from './config-history.js';
import { LAYERS, applyChanges } from './limits-config.js';
import type { LayerName, LayerValue, LimitsConfig, TenantChange } from './limits-config.js';
import type { ConfigPersistence, LimitsRegistry } from './limits-registry.js';

/** What the shared store holds after the version a replica asked from. */
export interface SharedRead {
  /** The newest shared version; 0 when the store holds nothing. */
  version: number;
  /** The versions after the one asked from (or after `base`), oldest first. */
  versions: ConfigVersion[];
  /** Set when the reader is older than the store's oldest retained version: rebuild from it. */
  base?: { version: number; config: LimitsConfig };
}

export interface SharedConfigStore {
  /** `since` -1 asks for the base and every retained version. */
  read(since: number): Promise<SharedRead>;
  /** Writes `history`'s versions after `expected` and `config`, only if the store is still at `expected`.
   * Resolves undefined when written, else with the version the store holds. */
  write(expected: number, history: ConfigHistory, config: LimitsConfig): Promise<number | undefined>;
  /** `onVersion` for each announced version; `onReady` after each (re)subscription. */
  subscribe(onVersion: (version: number) => void, onReady: () => void): void;
  keepSubscribed(): void;
  /** Resolves true once the store's connection is ready (at once when it is), false after `timeoutMs`. */
  waitReady?(timeoutMs: number): Promise<boolean>;
  readonly listening: boolean;
  close(): Promise<void>;
}

export type SyncTrigger = 'start' | 'notification' | 'reconnect' | 'periodic' | 'commit';
export type SyncResult = 'applied' | 'written' | 'unchanged' | 'error';

export interface PropagationOptions {
  /** How often the shared config is re-read in full, whatever the notifications say. */
  intervalMs: number;
  /** A change that lost the race this many times in a row is reported as not saved. */
  maxAttempts?: number;
  onSync?: (trigger: SyncTrigger, result: SyncResult, detail: string) => void;
  /** The store holds an older version than this replica shared (Redis restarted empty): it is written back. */
  onStoreBehind?: (held: number, ours: number) => void;
}

const DEFAULT_MAX_ATTEMPTS = 5;
/** How long a local change waits for a reconnecting store before its save fails. */
const SAVE_READY_WAIT_MS = 3000;

export class ConfigPropagation implements ConfigPersistence {
  /** The newest version known to be the same here and in the store. */
  private synced = 0;
  /** The newest version the store ever confirmed: versions up to it are not this replica's pending changes. */
  private acknowledged = 0;
  /** Versions up to this one were read from STATE_DIR at start: they seed an empty store, never rebase. */
  private readonly restoredUpTo: number;
  /** The newest version seen in the store. */
  sharedVersion = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private pullQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly registry: LimitsRegistry,
    private readonly store: SharedConfigStore,
    private readonly options: PropagationOptions,
  ) {
    this.restoredUpTo = registry.history.latest;
  }

  /** Reads the shared config and puts it in force (or seeds an empty store with this replica's), then listens. */
  async start(): Promise<void> {
    this.store.subscribe(
      (version) => {
        // Our own write comes back too; a version we already hold needs nothing.
        if (version > this.synced) this.sync('notification');
      },
      () => this.sync('reconnect'),
    );
    try {
      await this.run(() => this.pullAndPush('start'));
    } finally {
      this.timer = setInterval(() => {
        this.store.keepSubscribed();
        this.sync('periodic');
      }, this.options.intervalMs);
      this.timer.unref();
    }
  }

  /** ConfigPersistence: called by the registry after each local commit; resolves once the store has it. */
  async save(): Promise<void> {
    // A change made while this replica's Redis connection is coming back (a restart, a failover) waits for it a
    // moment rather than failing at once: an admin write can wait, and the next periodic sync is seconds away.
    await this.store.waitReady?.(SAVE_READY_WAIT_MS);
    await this.run(() => this.push());
  }

  unsaved(version: number, err: Error): string {
    return `version ${version} is in force on this replica but could not be shared through Redis, so the other replicas do not have it yet (it is written when Redis answers again): ${err.message}`;
  }

  /** Pulls then pushes in the background; concurrent triggers fold into one pass. */
  private sync(trigger: SyncTrigger): void {
    if (this.pullQueued || this.stopped) return;
    this.pullQueued = true;
    this.run(() => {
      this.pullQueued = false;
      return this.pullAndPush(trigger);
    }).catch(() => undefined);
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async pullAndPush(trigger: SyncTrigger): Promise<void> {
    try {
      const pulled = await this.pull();
      const pushed = await this.push();
      const result = pulled ? 'applied' : pushed ? 'written' : 'unchanged';
      this.options.onSync?.(trigger, result, `version ${this.registry.current().version}`);
    } catch (err) {
      this.options.onSync?.(trigger, 'error', (err as Error).message);
      throw err;
    }
  }

  /** Writes the local versions the store does not have yet. Returns whether anything was written. */
  private async push(): Promise<boolean> {
    const attempts = this.options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      const history = this.registry.history;
      // What this write carries: a change committed while it is in flight is left to the next push.
      const latest = history.latest;
      if (latest === this.synced) return false;
      const held = await this.store.write(this.synced, history, this.registry.config());
      if (held === undefined) {
        this.synced = this.sharedVersion = latest;
        this.acknowledged = Math.max(this.acknowledged, this.synced);
        return true;
      }
      this.sharedVersion = held;
      if (attempt >= attempts)
        throw new Error(
          `the shared limits kept changing under this replica (${attempts} tries, now at version ${held}); the change is in force here only`,
        );
      // Another replica wrote first: take its versions, re-apply ours on top, and try again.
      await this.pull();
    }
  }

  /** Brings in the store's versions after `synced`. Returns whether the config in force changed. */
  private async pull(): Promise<boolean> {
    const local = this.registry.history;
    // Our history no longer reaches back to what we share (more local changes than it retains): rebuild.
    let read = await this.store.read(local.base.version > this.synced ? -1 : this.synced);
    this.sharedVersion = read.version;
    if (read.version === this.synced) return false;
    if (read.version < this.synced) {
      // The store lost versions (restarted empty, or restored from an older snapshot, which holds a prefix of
      // ours): from its version on, this replica's are written back by the push that follows.
      this.options.onStoreBehind?.(read.version, this.synced);
      this.synced = read.version;
      return false;
    }
    let shared = this.rebuild(local, read);
    if (!shared) {
      // Versions missing in the store (trimmed or removed by hand): start again from its base.
      read = await this.store.read(-1);
      shared = this.rebuild(local, read);
      if (!shared)
        throw new Error(`the shared limits history in the store is not consecutive up to ${read.version}`);
    }
    const from = this.synced;
    const pending = local
      .all()
      .filter((v) => v.version > Math.max(from, this.acknowledged, this.restoredUpTo));
    this.registry.adoptShared(shared, from);
    this.synced = this.acknowledged = shared.latest;
    // This replica's changes that the store did not have yet are applied again on top, as new versions.
    for (const change of pending)
      this.registry.commit(rebaseChanges(this.registry.config(), change.changes), change);
    return true;
  }

  private rebuild(local: ConfigHistory, read: SharedRead): ConfigHistory | undefined {
    try {
      const shared = read.base
        ? new ConfigHistory(DEFAULT_RETAINED_VERSIONS, read.base, read.versions)
        : new ConfigHistory(DEFAULT_RETAINED_VERSIONS, local.base, [
            ...local.all().filter((v) => v.version <= this.synced),
            ...read.versions,
          ]);
      return shared.latest === read.version ? shared : undefined;
    } catch (err) {
      if (err instanceof RangeError) return undefined;
      throw err;
    }
  }

  /** Stops re-reading and closes the store once the last write is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.queue;
    await this.store.close();
  }
}

function layerOf(config: LimitsConfig, name: LayerName): ReadonlyMap<string, LayerValue> {
  return config[LAYERS.find((l) => l.name === name)!.key];
}

/**
 * `changes` (made against an older config) re-applied to `config`: per limit for limit layers, so two replicas
 * changing different limits of one tenant at once both keep their change; switches are replaced whole.
 */
export function rebaseChanges(config: LimitsConfig, changes: readonly TenantChange[]): LimitsConfig {
  const merged: TenantChange[] = [];
  for (const change of changes) {
    const current = layerOf(config, change.layer).get(change.tenant) ?? null;
    const after =
      change.layer === 'runtime_enforcement'
        ? change.after
        : mergeLimits(current, change.before, change.after);
    merged.push({ layer: change.layer, tenant: change.tenant, before: current, after });
  }
  return applyChanges(config, merged, 'forward');
}

function mergeLimits(
  current: LayerValue | null,
  before: LayerValue | null,
  after: LayerValue | null,
): LayerValue | null {
  const out: Record<string, unknown> = { ...current };
  const b: Record<string, unknown> = { ...before };
  const a: Record<string, unknown> = { ...after };
  for (const name of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (b[name] === a[name]) continue;
    if (a[name] === undefined) delete out[name];
    else out[name] = a[name];
  }
  if (Object.keys(out).length === 0 && after === null) return null;
  return out as LayerValue;
}
