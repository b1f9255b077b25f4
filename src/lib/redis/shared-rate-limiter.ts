// A limiter whose state lives in Redis, shared by every replica: the RateLimiter of src/engine with the
// same decisions, answering with a Promise. Checks made in the same event-loop turn go out together (one
// script call for many keys; one call per key on Cluster, which ioredis pipelines per node). Never
// retries on its own and never guesses: a failed round trip rejects, and the caller falls back.

import { randomBytes } from 'node:crypto';
import type { RateAlgorithm } from '../engine/algorithm.js';
import type { AlgorithmSpec } from '../engine/algorithm-spec.js';
import { createAlgorithm } from '../engine/algorithm-spec.js';
import { calendarPeriod } from '../engine/calendar-period.js';
import type { RateDecision } from '../engine/rate-decision.js';
import type { RoundTripListener } from './circuit-breaker.js';
import {
  ANSWER_BYTES,
  CHECK_BYTES,
  OP_CODES,
  algorithmScript,
  needsMembers,
  scriptParams,
} from './algorithm-scripts.js';
import type { ScriptOp } from './algorithm-scripts.js';
import type { RedisClient, RedisConnections } from './redis-connections.js';
import { LuaScript, runForBuffer } from './script-runner.js';

/** Most checks in one script call: keeps each call short so Redis serves others in between. */
const MAX_BATCH = 512;

/** A decision from Redis; `lease` names the units a concurrency check holds until release(). */
export interface SharedRateDecision extends RateDecision {
  lease: string | undefined;
}

export interface SharedRateLimiterOptions {
  /** Reported as `policy` in every decision; also part of the keys. */
  name?: string;
  /** Start of every key (default 'rl:'); the key is `<prefix>{<name>:<algorithm>:<key>}`. */
  keyPrefix?: string;
}

interface Pending {
  key: string;
  op: ScriptOp;
  cost: number;
  /** Member "cost|unique id" (sliding log entry, concurrency lease), the lease to give back, or ''. */
  id: string;
  /** ms passed in, or undefined for Redis TIME. */
  nowMs: number | undefined;
  resolve: (d: SharedRateDecision) => void;
  reject: (err: unknown) => void;
}

/** A pool of the service's (types only: the library entry must not load ioredis for in-process users). */
function isPool(r: RedisConnections | RedisClient): r is RedisConnections {
  return 'pick' in r;
}

/** One script object per algorithm, so every limiter of the process shares its reload count. */
const scripts = new Map<string, LuaScript>();
function scriptFor(algorithm: RateAlgorithm['name']): LuaScript {
  let s = scripts.get(algorithm);
  if (s === undefined) {
    s = new LuaScript(`algorithm:${algorithm}`, algorithmScript(algorithm));
    scripts.set(algorithm, s);
  }
  return s;
}

/** Times Redis had lost one of the algorithm scripts and it was sent again (all limiters). */
export function algorithmScriptReloads(): number {
  let n = 0;
  for (const s of scripts.values()) n += s.reloads;
  return n;
}

export class SharedRateLimiter {
  readonly spec: AlgorithmSpec;
  /** The in-process twin: reports limit and window, and decides identically. */
  readonly algorithm: RateAlgorithm;
  readonly name: string;
  private readonly script: LuaScript;
  private readonly params: string[];
  private readonly keyHead: string;
  /** Whether checks carry a member (sliding log, concurrency). */
  private readonly members: boolean;
  /** Unique per limiter object: log entries and leases from different replicas never collide. */
  private readonly idBase = randomBytes(6).toString('base64url');
  private seq = 0;
  /** Calendar quotas: the local period last computed (Intl is too slow to ask per batch). */
  private periodStart = Infinity;
  private periodEnd = -Infinity;
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly listeners: RoundTripListener[] = [];
  /** Round trips made and failed, and checks answered. */
  roundTrips = 0;
  roundTripErrors = 0;
  checks = 0;

  constructor(
    spec: AlgorithmSpec,
    private readonly redis: RedisConnections | RedisClient,
    options: SharedRateLimiterOptions = {},
  ) {
    this.spec = spec;
    this.params = scriptParams(spec); // validates the spec
    this.algorithm = createAlgorithm(spec);
    this.name = options.name ?? '';
    this.script = scriptFor(this.algorithm.name);
    this.members = needsMembers(this.algorithm.name);
    // The hash tag holds the whole identity: every key of one check (and its future siblings) on one slot.
    this.keyHead = `${options.keyPrefix ?? 'rl:'}{${this.name}:${this.algorithm.name}:`;
  }

  /** The Redis key holding `key`'s state. */
  redisKey(key: string): string {
    return `${this.keyHead}${key}}`;
  }

  /** Told after every round trip (the fallback's circuit breaker listens). */
  onRoundTrip(listener: RoundTripListener): void {
    this.listeners.push(listener);
  }

  /**
   * Decides whether `key` may spend `cost` units and records it when allowed. Time is Redis's clock
   * unless `nowMs` is given (tests; or a fleet whose clocks are known to agree).
   */
  check(key: string, cost = 1, nowMs?: number): Promise<SharedRateDecision> {
    return this.enqueue(key, 'c', cost, nowMs);
  }

  /** The decision a request of `cost` would get now, recording nothing. */
  peek(key: string, cost = 1, nowMs?: number): Promise<SharedRateDecision> {
    return this.enqueue(key, 'p', cost, nowMs);
  }

  /** Gives back the units a concurrency check holds (its decision's `lease`). */
  async release(key: string, lease: string | undefined): Promise<void> {
    if (lease === undefined || this.algorithm.name !== 'concurrency') return;
    await this.enqueue(key, 'r', 0, undefined, lease);
  }

  /** Forgets `key` (its next check starts fresh). */
  async reset(key: string): Promise<void> {
    await this.client().del(this.redisKey(key));
  }

  private client(): RedisClient {
    const r = this.redis;
    return isPool(r) ? r.primary : r;
  }

  private enqueue(
    key: string,
    op: ScriptOp,
    cost: number,
    nowMs: number | undefined,
    lease?: string,
  ): Promise<SharedRateDecision> {
    if (!(cost >= 0 && cost < Infinity))
      return Promise.reject(new RangeError(`cost must be a finite number ≥ 0, got ${cost}`));
    if (this.algorithm.name === 'sliding_window_log' && !Number.isInteger(cost))
      return Promise.reject(new RangeError(`sliding_window_log needs a whole-number cost, got ${cost}`));
    const id = lease ?? (this.members ? `${cost}|${this.idBase}${(this.seq++).toString(36)}` : '');
    return new Promise<SharedRateDecision>((resolve, reject) => {
      this.queue.push({ key, op, cost, id, nowMs, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate, not a microtask: every request read in this poll phase joins the batch.
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    if (this.isCluster()) {
      // Keys of one call must share a slot: one call per check, pipelined per node by ioredis.
      for (const item of queue) this.send([item]);
      return;
    }
    // A batch shares one time argument: cut it wherever the passed-in time changes.
    let from = 0;
    for (let i = 1; i <= queue.length; i++) {
      if (i === queue.length || i - from === MAX_BATCH || queue[i]!.nowMs !== queue[from]!.nowMs) {
        this.send(from === 0 && i === queue.length ? queue : queue.slice(from, i));
        from = i;
      }
    }
  };

  private isCluster(): boolean {
    const r = this.redis;
    return isPool(r) ? r.cluster : r.isCluster;
  }

  private send(batch: Pending[]): void {
    const r = this.redis;
    let client: RedisClient;
    let index = -1;
    if (isPool(r)) {
      index = r.pick();
      if (index === -1) {
        this.failed(batch, new Error('Redis is not connected'), 0);
        return;
      }
      client = r.clients[index]!;
      r.started(index);
    } else client = r;
    const nowMs = batch[0]!.nowMs;
    const params = this.params;
    let windowMs = this.algorithm.windowMs;
    if (this.spec.algorithm === 'calendar_quota') {
      // Redis's Lua has no zone data: the period comes from this replica's clock (see docs/redis.md).
      const t = nowMs ?? Date.now();
      if (!(t >= this.periodStart && t < this.periodEnd)) {
        const p = calendarPeriod(t, this.spec.period, this.spec.time_zone ?? 'UTC');
        this.periodStart = p.startMs;
        this.periodEnd = p.endMs;
        params[1] = String(p.startMs);
        params[2] = String(p.endMs);
      }
      windowMs = this.periodEnd - this.periodStart;
    }
    const n = batch.length;
    const args: (string | Buffer)[] = new Array<string | Buffer>(
      n + 2 + params.length + (this.members ? n : 0),
    );
    let a = 0;
    for (let i = 0; i < n; i++) args[a++] = this.redisKey(batch[i]!.key);
    args[a++] = nowMs === undefined ? '' : String(nowMs);
    for (const p of params) args[a++] = p;
    const checks = Buffer.allocUnsafe(n * CHECK_BYTES);
    for (let i = 0; i < n; i++) {
      const item = batch[i]!;
      checks.writeUInt8(OP_CODES[item.op], i * CHECK_BYTES);
      checks.writeDoubleLE(item.cost, i * CHECK_BYTES + 1);
    }
    args[a++] = checks;
    if (this.members) for (let i = 0; i < n; i++) args[a++] = batch[i]!.id;
    const started = performance.now();
    runForBuffer(this.script, client, n, args).then(
      (reply) => {
        if (index !== -1) (r as RedisConnections).finished(index);
        this.answered(batch, reply, windowMs, started);
      },
      (err: unknown) => {
        if (index !== -1) (r as RedisConnections).finished(index);
        this.failed(batch, err, (performance.now() - started) / 1000);
      },
    );
  }

  private answered(batch: Pending[], reply: unknown, windowMs: number, started: number): void {
    if (!Buffer.isBuffer(reply) || reply.length !== batch.length * ANSWER_BYTES) {
      this.failed(batch, new Error(`unexpected reply from the ${this.script.name} script`), 0);
      return;
    }
    this.roundTrips++;
    this.checks += batch.length;
    const limit = this.algorithm.limit;
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]!;
      const at = i * ANSWER_BYTES;
      const allowed = reply.readDoubleLE(at) === 1;
      item.resolve({
        allowed,
        limit,
        remaining: reply.readDoubleLE(at + 8),
        resetAtMs: reply.readDoubleLE(at + 16),
        retryAfterMs: reply.readDoubleLE(at + 24),
        windowMs,
        policy: this.name,
        lease:
          allowed && item.op === 'c' && item.cost > 0 && this.algorithm.name === 'concurrency'
            ? item.id
            : undefined,
      });
    }
    const seconds = (performance.now() - started) / 1000;
    for (const l of this.listeners) l(true, batch.length, seconds);
  }

  private failed(batch: Pending[], err: unknown, seconds: number): void {
    this.roundTripErrors++;
    for (const item of batch) item.reject(err);
    for (const l of this.listeners) l(false, batch.length, seconds, err);
  }
}
