// The token buckets shared by every replica, in Redis. Checks arriving in the same event-loop turn go
// out together: one script call for many tenants (standalone, Sentinel; a large turn as two pipelined
// calls), or one call per tenant that ioredis pipelines per Cluster node. Tenants already over their limit are answered from the local
// over-limit cache. Never awaits anything but Redis; never answers from a local guess except a certain denial.

import { performance } from 'node:perf_hooks';
import type { RoundTripListener } from '../../lib/redis/circuit-breaker.js';
import type { ReconcileEntry, SharedRateStore } from '../fallback-rate-store.js';
import type { RateAnswer, RateQuery } from '../rate-store.js';
import {
  RECONCILE_ARGS_PER_KEY,
  RECONCILE_SCRIPT,
  TAKE_SCRIPT,
  bucketKey,
  encodeTakeBatch,
  isTakeReply,
  readTakeReply,
} from './bucket-scripts.js';
import type { BatchQuery, TakeReply } from './bucket-scripts.js';
import { OverLimitCache } from './over-limit-cache.js';
import type { RedisConnections } from '../../lib/redis/redis-connections.js';
import { LuaScript, runForBuffer } from '../../lib/redis/script-runner.js';

/** A check that needs neither bucket (no request_rate, nothing to count): allowed without Redis. */
const NOTHING_TO_TAKE: RateAnswer = Object.freeze({ requestWaitMs: 0, ingestionWaitMs: 0 });
/** Most queries in one script call: keeps each call short so Redis serves others in between. */
const MAX_BATCH = 512;
/**
 * A tick with more checks than this goes out as at least two pipelined calls: Redis runs the first while
 * the second is encoded and sent, and the first replies are read while Redis runs the second, so this
 * process and Redis work side by side instead of taking turns.
 */
const SPLIT_ABOVE = 256;

const MAX_CACHED_TENANTS = 1_000_000;

interface PendingTake extends BatchQuery {
  /** Told the answer: a RateAnswer for a take, the full TakeReply for a debit. */
  resolve: (a: TakeReply) => void;
  reject: (err: unknown) => void;
}

/** Counters read at scrape time (plain numbers: the hot path never touches prom-client). */
export interface RedisStoreCounters {
  roundTrips: number;
  roundTripErrors: number;
  checks: number;
  cacheHits: number;
  scriptReloads: number;
}

export interface RedisRateStoreOptions {
  keyPrefix: string;
  localCache: boolean;
  /** Monotonic milliseconds for the local cache's bounds; performance.now by default. */
  monotonicNow?: () => number;
}

export class RedisRateStore implements SharedRateStore {
  readonly kind = 'redis';
  readonly inFallback = false;
  private readonly take_ = new LuaScript('take', TAKE_SCRIPT);
  private readonly reconcile_ = new LuaScript('reconcile', RECONCILE_SCRIPT);
  private readonly cache: OverLimitCache | undefined;
  private readonly mono: () => number;
  private readonly listeners: RoundTripListener[] = [];
  private queue: PendingTake[] = [];
  private scheduled = false;
  private roundTrips = 0;
  private roundTripErrors = 0;
  private checks = 0;

  constructor(
    private readonly connections: RedisConnections,
    private readonly options: RedisRateStoreOptions,
  ) {
    this.cache = options.localCache ? new OverLimitCache(MAX_CACHED_TENANTS) : undefined;
    this.mono = options.monotonicNow ?? (() => performance.now());
  }

  onRoundTrip(listener: RoundTripListener): void {
    this.listeners.push(listener);
  }

  /** Redis keeps the one clock: `nowMs` is not used for the buckets. */
  take(tenant: string, query: RateQuery, _nowMs: number): RateAnswer | Promise<RateAnswer> {
    if (query.requestRate <= 0 && query.cost <= 0) return NOTHING_TO_TAKE;
    if (this.cache !== undefined) {
      const cached = this.cache.answer(tenant, query, this.mono());
      if (cached !== undefined) return cached;
    }
    return new Promise<RateAnswer>((resolve, reject) =>
      this.enqueue(tenant, query, undefined, resolve, reject),
    );
  }

  /**
   * Near-global sync: subtracts tokens this replica already allowed on its own (debt allowed) and
   * answers with the levels after, in the same batches as the takes.
   */
  debit(tenant: string, query: RateQuery, requests: number, ingestion: number): Promise<TakeReply> {
    return new Promise<TakeReply>((resolve, reject) =>
      this.enqueue(tenant, query, { requests, ingestion }, resolve, reject),
    );
  }

  private enqueue(
    tenant: string,
    query: RateQuery,
    debit: BatchQuery['debit'],
    resolve: (a: TakeReply) => void,
    reject: (err: unknown) => void,
  ): void {
    this.queue.push({ tenant, query, debit, resolve, reject });
    if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate, not a microtask: every request read in this poll phase joins the batch.
      setImmediate(this.flush);
    }
  }

  peek(
    tenant: string,
    query: RateQuery,
    _nowMs: number,
  ): { requests: number; ingestion: number } | undefined {
    return this.cache?.peek(tenant, query, this.mono());
  }

  /** Tenants this replica holds a bound for (the buckets themselves live in Redis). */
  get size(): number {
    return this.cache?.size ?? 0;
  }

  get counters(): RedisStoreCounters {
    return {
      roundTrips: this.roundTrips,
      roundTripErrors: this.roundTripErrors,
      checks: this.checks,
      cacheHits: this.cache?.hits ?? 0,
      scriptReloads: this.take_.reloads + this.reconcile_.reloads,
    };
  }

  /** Drops local bounds that can no longer deny anything. */
  sweep(): number {
    return this.cache?.sweep(this.mono()) ?? 0;
  }

  /** Forgets every local bound (after Redis lost or changed its state). */
  forgetLocal(): void {
    this.cache?.clear();
  }

  /** Resolves when Redis answers a PING. */
  async probe(): Promise<void> {
    await this.connections.probe();
  }

  /** Resolves once connected, or after `timeoutMs` (false) — never rejects. */
  ready(timeoutMs: number): Promise<boolean> {
    return this.connections.waitReady(timeoutMs);
  }

  /** Lowers tenants' shared buckets to the given ceilings (never raises them); one round trip per batch. */
  async reconcile(entries: readonly ReconcileEntry[]): Promise<void> {
    this.cache?.clear();
    const client = this.connections.anyReady;
    if (this.connections.cluster) {
      await Promise.all(
        entries.map((e) => this.reconcile_.run(client, 1, reconcileArgs([e], this.options.keyPrefix))),
      );
      return;
    }
    for (let i = 0; i < entries.length; i += MAX_BATCH) {
      const chunk = entries.slice(i, i + MAX_BATCH);
      await this.reconcile_.run(client, chunk.length, reconcileArgs(chunk, this.options.keyPrefix));
    }
  }

  async close(): Promise<void> {
    // Let a scheduled batch go out (and fail or answer) before the connections close.
    if (this.scheduled) await new Promise((resolve) => setImmediate(resolve));
    await this.connections.close();
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    if (this.connections.cluster) {
      // A script call must stay on one slot: one call per tenant, which ioredis pipelines per node.
      const byTenant = new Map<string, PendingTake[]>();
      for (const item of queue) {
        const group = byTenant.get(item.tenant);
        if (group === undefined) byTenant.set(item.tenant, [item]);
        else group.push(item);
      }
      for (const group of byTenant.values()) this.send(group);
      return;
    }
    const n = queue.length;
    if (n <= SPLIT_ABOVE && n <= MAX_BATCH) {
      this.send(queue);
      return;
    }
    const size = Math.ceil(n / Math.max(2, Math.ceil(n / MAX_BATCH)));
    for (let i = 0; i < n; i += size) this.send(queue.slice(i, i + size));
  };

  private send(batch: PendingTake[]): void {
    const index = this.connections.pick();
    const sentAt = this.mono();
    if (index === -1) {
      this.failed(batch, new Error('Redis is not connected'), 0);
      return;
    }
    const client = this.connections.clients[index]!;
    let encoded;
    try {
      encoded = encodeTakeBatch(this.options.keyPrefix, batch);
    } catch (err) {
      this.failed(batch, err, 0);
      return;
    }
    const { keys, blob } = encoded;
    const numKeys = keys.length;
    const args: (string | Buffer)[] = keys;
    args.push(blob);
    this.connections.started(index);
    runForBuffer(this.take_, client, numKeys, args).then(
      (reply) => {
        this.connections.finished(index);
        this.answered(batch, reply, sentAt);
      },
      (err: unknown) => {
        this.connections.finished(index);
        this.failed(batch, err, (this.mono() - sentAt) / 1000);
      },
    );
  }

  private answered(batch: PendingTake[], reply: unknown, sentAt: number): void {
    if (!isTakeReply(reply, batch.length)) {
      this.failed(
        batch,
        new Error(`unexpected reply from the take script: ${String(reply).slice(0, 80)}`),
        0,
      );
      return;
    }
    this.roundTrips++;
    this.checks += batch.length;
    const seconds = (this.mono() - sentAt) / 1000;
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]!;
      const r = readTakeReply(reply, i);
      this.cache?.record(item.tenant, item.query, r.requestLevel, r.ingestionLevel, sentAt);
      item.resolve(r);
    }
    for (const l of this.listeners) l(true, batch.length, seconds);
  }

  private failed(batch: PendingTake[], err: unknown, seconds: number): void {
    this.roundTripErrors++;
    for (const item of batch) item.reject(err);
    for (const l of this.listeners) l(false, batch.length, seconds, err);
  }
}

function reconcileArgs(entries: readonly ReconcileEntry[], prefix: string): string[] {
  const n = entries.length;
  const args: string[] = new Array<string>(n * (1 + RECONCILE_ARGS_PER_KEY));
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    const q = e.query;
    args[i] = bucketKey(prefix, e.tenant);
    const a = n + i * RECONCILE_ARGS_PER_KEY;
    args[a] = String(q.requestRate);
    args[a + 1] = String(q.requestBurst);
    args[a + 2] = String(q.ingestionRate);
    args[a + 3] = String(q.ingestionBurst);
    args[a + 4] = String(e.requestCeiling);
    args[a + 5] = String(e.ingestionCeiling);
  }
  return args;
}
