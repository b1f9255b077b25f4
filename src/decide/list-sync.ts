// Keeps every replica's runtime list changes equal to the shared ones in Redis. A change through the admin
// API is planned against this replica's copy, written to Redis with the list's version as the guard, and
// applied here only once Redis took it (so Redis down refuses it whole, and a replica that lost a race reads
// the winner's sets and plans again). Other replicas' changes arrive by pub/sub, after a reconnect, or by
// the periodic check of the versions hash: never on the request path, which keeps reading the in-memory
// index. A list Redis knows nothing of is seeded from this replica (its STATE_DIR restore); a Redis that
// holds an older version than a replica applied (restarted empty) is written back from it, above that version.

import type { ListStore } from '../lib/lists/list-store.js';
import type { RedisListStore } from '../lib/redis/redis-lists.js';
import { listField } from '../lib/redis/redis-lists.js';

/** The change was not made anywhere: Redis could not be reached, or the list kept moving under it. */
export class ListShareError extends Error {
  readonly status = 503;
  constructor(message: string) {
    super(message);
    this.name = 'ListShareError';
  }
}

export type ListSyncTrigger = 'start' | 'notification' | 'reconnect' | 'periodic' | 'change';
export type ListSyncResult = 'applied' | 'written' | 'unchanged' | 'conflict' | 'error';

export interface ListSyncOptions {
  /** How often the versions hash is read, whatever the notifications say. */
  intervalMs: number;
  /** A change that lost the race this many times in a row is refused (default 5). */
  maxAttempts?: number;
  onSync?: (trigger: ListSyncTrigger, result: ListSyncResult, detail: string) => void;
  /** After other replicas' changes (or a seed) changed lists here: e.g. save them to STATE_DIR. */
  onApplied?: (lists: string[]) => void;
}

const DEFAULT_MAX_ATTEMPTS = 5;

export class ListSync {
  /** Per list field (kind:name): the shared version whose sets this replica holds. */
  private readonly synced = new Map<string, number>();
  /** Fields read from or written to Redis since the last reload of the lists' bases: their copy here is whole. */
  private readonly fresh = new Set<string>();
  private generation: number;
  private queue: Promise<unknown> = Promise.resolve();
  private checkQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly store: ListStore,
    private readonly redis: RedisListStore,
    private readonly options: ListSyncOptions,
  ) {
    this.generation = store.generation;
  }

  /** The shared version of list `name` held here (0: Redis has none yet); undefined for no such list. */
  sharedVersion(name: string): number | undefined {
    const info = this.store.info(name);
    return info === undefined ? undefined : (this.synced.get(listField(info.kind, name)) ?? 0);
  }

  /** Reads the shared state (or seeds Redis with this replica's), then listens. Never rejects: Redis may be down. */
  async start(): Promise<void> {
    this.redis.subscribe(
      (field, version) => {
        // Our own write comes back too: a version we hold needs nothing.
        if (version !== this.synced.get(field)) this.sync('notification');
      },
      () => this.sync('reconnect'),
    );
    await this.run(() => this.check('start')).catch(() => undefined);
    this.timer = setInterval(() => {
      this.redis.keepSubscribed();
      this.sync('periodic');
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Adds or removes entries on every replica: resolves once Redis has the change and it is in force here. */
  change(
    name: string,
    operation: 'add' | 'remove',
    entries: readonly string[],
  ): Promise<{ changed: string[]; version: number }> {
    return this.run(async () => {
      const attempts = this.options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      this.forgetIfRedefined();
      for (let attempt = 1; ; attempt++) {
        if (attempt > 2 * attempts)
          throw new ListShareError(`list ${name} not changed: it kept changing under this replica; retry`);
        const canonical = this.store.canonicalize(name, entries); // 404 or 400: nothing written
        const field = listField(this.store.info(name)!.kind, name);
        const expected = this.synced.get(field) ?? 0;
        const planned = this.store.plan(name, operation, canonical);
        let reply: { written: boolean; version: number };
        try {
          if (expected === 0 && this.hasOverlay(name)) {
            // Runtime sets Redis has not seen (a STATE_DIR restore while it was down): they go first, whole.
            if (!(await this.seed(name, field, 0, 0))) await this.pull(name, field);
            continue;
          }
          if (expected > 0 && !this.fresh.has(field)) {
            // A reload since this replica last read the list: plan on what Redis holds, not on a stale copy.
            if (await this.pull(name, field)) this.options.onApplied?.([name]);
            continue;
          }
          reply = await this.redis.write(field, expected, planned.diff);
        } catch (err) {
          this.report('change', 'error', (err as Error).message);
          throw new ListShareError(
            `list ${name} not changed: Redis (${this.redis.description}) did not take the change (${(err as Error).message}); nothing changed on any replica, retry once Redis answers`,
          );
        }
        if (reply.written) {
          // A policy reload while Redis answered may have redefined the list: then the next check reads it.
          const info = this.store.info(name);
          if (info === undefined || listField(info.kind, name) !== field) this.synced.delete(field);
          else {
            if (planned.changed.length > 0) this.store.applyDiff(name, planned.diff);
            this.synced.set(field, reply.version);
            this.fresh.add(field);
          }
          this.report(
            'change',
            planned.changed.length > 0 ? 'written' : 'unchanged',
            `${field} version ${reply.version}`,
          );
          return { changed: planned.changed, version: reply.version };
        }
        this.report(
          'change',
          'conflict',
          `${field} is at version ${reply.version} in Redis, not ${expected}`,
        );
        if (attempt >= attempts)
          throw new ListShareError(
            `list ${name} not changed: it kept changing through other replicas (${attempts} tries, now at version ${reply.version}); retry`,
          );
        try {
          if (await this.pull(name, field)) this.options.onApplied?.([name]);
        } catch (err) {
          throw new ListShareError(
            `list ${name} not changed: Redis (${this.redis.description}) could not be read (${(err as Error).message}); retry once Redis answers`,
          );
        }
      }
    });
  }

  /** Stops checking (the connections belong to whoever made them); resolves once the last write is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.queue.catch(() => undefined);
  }

  /** A check in the background; concurrent triggers fold into one. */
  private sync(trigger: ListSyncTrigger): void {
    if (this.checkQueued || this.stopped) return;
    this.checkQueued = true;
    this.run(() => {
      this.checkQueued = false;
      return this.check(trigger);
    }).catch(() => undefined);
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * A policy or file reload may have dropped and redefined a list, or dropped runtime entries that are now in
   * (and later again out of) its file: what this replica holds is then read again from Redis.
   */
  private forgetIfRedefined(): void {
    if (this.store.generation === this.generation) return;
    this.generation = this.store.generation;
    this.fresh.clear();
  }

  private hasOverlay(name: string): boolean {
    const o = this.store.overlay(name);
    return o !== undefined && o.added.length + o.removed.length > 0;
  }

  /** Compares every list's shared version with the one held here, and reads or writes what differs. */
  private async check(trigger: ListSyncTrigger): Promise<void> {
    try {
      this.forgetIfRedefined();
      const versions = await this.redis.versions();
      const applied: string[] = [];
      let written = 0;
      for (const info of this.store.infos()) {
        const field = listField(info.kind, info.name);
        const shared = versions.get(field) ?? 0;
        const held = this.synced.get(field) ?? 0;
        if (shared > held || (shared > 0 && !this.fresh.has(field))) {
          if (await this.pull(info.name, field)) applied.push(info.name);
        } else if (shared < held || (shared === 0 && this.hasOverlay(info.name))) {
          // Redis lost the list (restarted empty) or never had it (this replica's STATE_DIR restore).
          if (await this.seed(info.name, field, shared, held)) written++;
          else if (await this.pull(info.name, field)) applied.push(info.name);
        }
      }
      const result = applied.length > 0 ? 'applied' : written > 0 ? 'written' : 'unchanged';
      this.report(
        trigger,
        result,
        applied.length > 0 ? `lists ${applied.join(', ')}` : `${versions.size} lists shared`,
      );
      if (applied.length > 0 || written > 0) this.options.onApplied?.(applied);
    } catch (err) {
      this.report(trigger, 'error', (err as Error).message);
      throw err;
    }
  }

  /** Makes list `name` here what Redis holds. Returns whether entries in force changed. */
  private async pull(name: string, field: string): Promise<boolean> {
    const state = await this.redis.read(field);
    const info = this.store.info(name);
    // The policy set was reloaded meanwhile and the list is gone or has another kind: the next check sees.
    if (info === undefined || listField(info.kind, name) !== field) return false;
    const changed = this.store.setOverlay(name, state.added, state.removed);
    this.synced.set(field, state.version);
    this.fresh.add(field);
    return changed;
  }

  /** Writes this replica's runtime sets of `name` whole, above `held`. Returns false when Redis moved on. */
  private async seed(name: string, field: string, shared: number, held: number): Promise<boolean> {
    const overlay = this.store.overlay(name);
    if (overlay === undefined) return false;
    const reply = await this.redis.write(
      field,
      shared,
      { addedPut: overlay.added, addedDrop: [], removedPut: overlay.removed, removedDrop: [] },
      { replace: true, atLeast: held + 1 },
    );
    if (reply.written) {
      this.synced.set(field, reply.version);
      this.fresh.add(field);
    }
    return reply.written;
  }

  private report(trigger: ListSyncTrigger, result: ListSyncResult, detail: string): void {
    this.options.onSync?.(trigger, result, detail);
  }
}
