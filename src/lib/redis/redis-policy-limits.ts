// Policy limits kept in Redis, global across replicas: one SharedRateLimiter per policy, a circuit
// breaker over their round trips, and, while it is open, in-process limiters holding this replica's
// share of each limit (limit ÷ replicas), as the tenant buckets' fallback does. Never waits on a Redis
// that is down: the breaker opens and decisions continue locally until a probe succeeds.

import type { AlgorithmSpec } from '../engine/algorithm-spec.js';
import type { RateDecision } from '../engine/rate-decision.js';
import { emptyRateDecision } from '../engine/rate-decision.js';
import { RateLimiter } from '../engine/rate-limiter.js';
import type { CompiledPolicy } from '../policy/policy-set.js';
import type { SharedDecision, SharedPolicyLimits } from '../policy/shared-limits.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { RedisPenaltyBox } from './redis-penalties.js';
import type { BreakerState } from './circuit-breaker.js';
import type { RedisClient, RedisConnections } from './redis-connections.js';
import { SharedRateLimiter, algorithmScriptReloads } from './shared-rate-limiter.js';

export interface RedisPolicyLimitsOptions {
  /** Start of every key (REDIS_KEY_PREFIX; default 'rl:'); policy keys add "policy:". */
  keyPrefix?: string;
  /** Failed round trips in a row that open the breaker (default 3). */
  breakerFailures?: number;
  /** Time the breaker stays open before a probe (default 1000 ms). */
  breakerCooldownMs?: number;
  /** Processes sharing each limit while Redis is unreachable (default 1: each keeps the whole limit). */
  replicas?: () => number;
  /** Wall-clock ms, for the breaker and the local limiters (default Date.now). */
  now?: () => number;
  /** Told when decisions move to the local share (true) and back to Redis (false). */
  onModeChange?: (inFallback: boolean, detail: string) => void;
  /** How often each replica re-reads the active penalty blocks when they changed (default 1000 ms). */
  penaltyRefreshMs?: number;
}

/** What /api/system/status and /metrics show of the policy limits. */
export interface PolicyLimitsStatus {
  /** Counters live in Redis (false: in process only). */
  shared: boolean;
  /** The breaker is not closed: decisions use this replica's local share. */
  fallback: boolean;
  breaker: BreakerState;
  /** Times Redis had lost an algorithm script and it was sent again. */
  scriptReloads: number;
}

/** A pool of the service's, or a client a library user made (types only: ioredis is not loaded here). */
function isPool(r: RedisConnections | RedisClient): r is RedisConnections {
  return 'pick' in r;
}

/** One replica's share of a limit: every quota divided by the replicas, never below one request. */
export function shareOfSpec(spec: AlgorithmSpec, replicas: number): AlgorithmSpec {
  if (replicas <= 1) return spec;
  const part = (x: number) => Math.max(1, x / replicas);
  const whole = (x: number) => Math.max(1, Math.floor(x / replicas));
  switch (spec.algorithm) {
    case 'token_bucket':
      return { ...spec, rate: spec.rate / replicas, burst: part(spec.burst) };
    case 'gcra':
      return { ...spec, limit: spec.limit / replicas, burst: part(spec.burst ?? spec.limit) };
    case 'leaky_bucket':
      return { ...spec, rate: spec.rate / replicas, capacity: part(spec.capacity) };
    case 'sliding_window_log':
    case 'concurrency':
      return { ...spec, limit: whole(spec.limit) };
    case 'fixed_window':
    case 'sliding_window_counter':
    case 'calendar_quota':
      return { ...spec, limit: part(spec.limit) };
  }
}

/** Keys per policy whose local use is charged to Redis on recovery; more are decided but not charged. */
export const MAX_RECONCILE_KEYS = 4096;

/**
 * This replica's share of one policy while Redis is unreachable: an in-process limiter that remembers
 * which keys it allowed, so their use can be charged to the shared counters once Redis is back.
 */
class FallbackShare extends RateLimiter {
  readonly touched = new Set<string>();

  constructor(
    readonly policy: CompiledPolicy,
    spec: AlgorithmSpec,
  ) {
    super(spec, { name: policy.name });
  }

  override check(
    key: string,
    nowMs: number,
    cost = 1,
    out: RateDecision = emptyRateDecision(),
  ): RateDecision {
    super.check(key, nowMs, cost, out);
    if (out.allowed && cost > 0 && this.touched.size < MAX_RECONCILE_KEYS) this.touched.add(key);
    return out;
  }
}

function identity(policy: CompiledPolicy): string {
  return `${policy.name}\n${JSON.stringify(policy.spec)}`;
}

export class RedisPolicyLimits implements SharedPolicyLimits {
  readonly breaker: CircuitBreaker;
  private readonly limiters = new Map<string, SharedRateLimiter>();
  /** This replica's share of each policy, built when the breaker opens and dropped when it closes. */
  private locals = new Map<string, FallbackShare>();
  private localReplicas = 1;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private readonly keyPrefix: string;
  private readonly cooldownMs: number;
  private readonly replicas: () => number;
  private readonly now: () => number;
  private penaltyBox: RedisPenaltyBox | undefined;

  /**
   * `redis`: the service's pool (closed by close()), or an ioredis client or Cluster of your own (left
   * open by close()). Give your client `enableOfflineQueue: false` and a `commandTimeout`, so a Redis
   * that is down fails round trips at once and the breaker opens instead of requests queueing.
   */
  constructor(
    private readonly redis: RedisConnections | RedisClient,
    private readonly options: RedisPolicyLimitsOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? 'rl:';
    this.cooldownMs = options.breakerCooldownMs ?? 1000;
    this.replicas = options.replicas ?? (() => 1);
    this.now = options.now ?? Date.now;
    this.breaker = new CircuitBreaker(options.breakerFailures ?? 3, this.cooldownMs, (from, to) =>
      this.changed(from, to),
    );
  }

  get status(): PolicyLimitsStatus {
    const breaker = this.breaker.state;
    return {
      shared: true,
      fallback: breaker !== 'closed',
      breaker,
      scriptReloads: algorithmScriptReloads(),
    };
  }

  get active(): boolean {
    return this.breaker.state === 'closed';
  }

  /** Penalty records in the same Redis, under the same key prefix (made on first use). */
  get penalties(): RedisPenaltyBox {
    this.penaltyBox ??= new RedisPenaltyBox(this.redis, {
      keyPrefix: this.keyPrefix,
      ...(this.options.penaltyRefreshMs !== undefined ? { refreshMs: this.options.penaltyRefreshMs } : {}),
    });
    return this.penaltyBox;
  }

  check(policy: CompiledPolicy, key: string, cost: number): Promise<SharedDecision> {
    return this.limiter(policy).check(key, cost);
  }

  peek(policy: CompiledPolicy, key: string, cost: number): Promise<SharedDecision> {
    return this.limiter(policy).peek(key, cost);
  }

  release(policy: CompiledPolicy, key: string, lease: string): void {
    this.limiter(policy)
      .release(key, lease)
      .catch(() => undefined); // a lost release lapses with its lease
  }

  local(policy: CompiledPolicy): RateLimiter | undefined {
    if (policy.spec === undefined) return undefined;
    const id = identity(policy);
    let l = this.locals.get(id);
    if (l === undefined) {
      if (this.locals.size === 0) this.localReplicas = Math.max(1, this.replicas());
      l = new FallbackShare(policy, shareOfSpec(policy.spec, this.localReplicas));
      this.locals.set(id, l);
    }
    return l;
  }

  sweep(nowMs: number, maxSlots: number): number {
    let n = 0;
    for (const l of this.locals.values()) n += l.sweep(nowMs, maxSlots);
    return n;
  }

  /** Round trips and script reloads of every policy limiter (for status and metrics). */
  get counters(): { roundTrips: number; roundTripErrors: number; checks: number; scriptReloads: number } {
    let roundTrips = 0;
    let roundTripErrors = 0;
    let checks = 0;
    for (const l of this.limiters.values()) {
      roundTrips += l.roundTrips;
      roundTripErrors += l.roundTripErrors;
      checks += l.checks;
    }
    return { roundTrips, roundTripErrors, checks, scriptReloads: algorithmScriptReloads() };
  }

  /** Checks the breaker now (also done on a timer while open): probes when the cooldown has passed. */
  async probeNow(): Promise<void> {
    if (this.probing || !this.breaker.tryProbe(this.now())) return;
    this.probing = true;
    try {
      await (isPool(this.redis) ? this.redis.anyReady : this.redis).ping();
      await this.reconcile();
      this.breaker.probed(true, this.now());
    } catch {
      this.breaker.probed(false, this.now());
    } finally {
      this.probing = false;
    }
  }

  /** Stops the probe timer; closes the pool only when it is the service's own. */
  async close(): Promise<void> {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.penaltyBox?.close();
    if (this.limiters.size > 0) await new Promise((resolve) => setImmediate(resolve)); // let a batch go out
    if (isPool(this.redis)) await this.redis.close();
  }

  /**
   * Charges the shared counters with what this replica allowed from its local shares (what of it still
   * counts now, by the local limiter's own clock), never beyond the room Redis has left: a window that
   * spans the outage then holds about what the fleet used, instead of starting fresh. Concurrency units
   * are in flight and given back locally, so they are not charged. Bounded by MAX_RECONCILE_KEYS per
   * policy; one batch of peeks and one of checks per policy. A failure fails the probe (retried).
   */
  private async reconcile(): Promise<void> {
    const nowMs = this.now();
    const charges: Promise<unknown>[] = [];
    for (const local of this.locals.values()) {
      if (local.algorithm.release !== undefined || local.touched.size === 0) continue;
      const shared = this.limiter(local.policy);
      for (const key of local.touched) {
        const d = local.peek(key, nowMs, 0);
        const used = d.limit - d.remaining;
        if (!(used > 0)) continue;
        charges.push(
          shared.peek(key, 0).then((room) => {
            const cost = Math.min(used, room.remaining);
            return cost > 0 ? shared.check(key, cost) : undefined;
          }),
        );
      }
    }
    await Promise.all(charges);
  }

  private limiter(policy: CompiledPolicy): SharedRateLimiter {
    const id = identity(policy);
    let l = this.limiters.get(id);
    if (l === undefined) {
      l = new SharedRateLimiter(policy.spec!, this.redis, {
        name: policy.name,
        keyPrefix: `${this.keyPrefix}policy:`,
      });
      l.onRoundTrip((ok) => {
        if (ok) this.breaker.success();
        else this.breaker.failure(this.now());
      });
      this.limiters.set(id, l);
    }
    return l;
  }

  private changed(from: BreakerState, to: BreakerState): void {
    if (to === 'open' && from === 'closed') {
      this.options.onModeChange?.(
        true,
        `Redis unreachable: policy limits are decided locally with this replica's share (1/${Math.max(1, this.replicas())}) of each limit`,
      );
      if (!this.probeTimer) {
        this.probeTimer = setInterval(() => void this.probeNow(), Math.max(50, this.cooldownMs / 4));
        this.probeTimer.unref();
      }
    } else if (to === 'closed') {
      if (this.probeTimer) clearInterval(this.probeTimer);
      this.probeTimer = undefined;
      this.locals = new Map();
      this.options.onModeChange?.(false, 'Redis reachable again: policy limits are shared again');
    }
  }
}
