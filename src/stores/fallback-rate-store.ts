// Keeps decisions flowing when the shared store (Redis) is not: a circuit breaker watches its round
// trips, and while it is open every check is decided in process against this replica's share of each
// limit (limit ÷ live replicas). Recovery is probed, then the shared buckets are lowered to what the
// replicas used meanwhile, so coming back never hands out a fresh burst. Never waits on a dead store.

import { CircuitBreaker } from '../lib/redis/circuit-breaker.js';
import type { BreakerState, RoundTripListener } from '../lib/redis/circuit-breaker.js';
import { InProcessRateStore } from './in-process-rate-store.js';
import type { RateAnswer, RateQuery, RateStore } from './rate-store.js';

/** What a tenant's shared buckets should be lowered to after a fallback period (negative: leave alone). */
export interface ReconcileEntry {
  tenant: string;
  query: RateQuery;
  requestCeiling: number;
  ingestionCeiling: number;
}

/** A store shared by replicas that can fail: what the fallback needs from it. */
export interface SharedRateStore extends RateStore {
  onRoundTrip(listener: RoundTripListener): void;
  /** Resolves when the store answers at all. */
  probe(): Promise<void>;
  /** Lowers shared buckets to the given ceilings, never raises them; forgets local bounds. */
  reconcile(entries: readonly ReconcileEntry[]): Promise<void>;
}

export interface FallbackOptions {
  breakerFailures: number;
  breakerCooldownMs: number;
  /** Replicas sharing each limit (live ones from heartbeats, or a configured count). */
  replicas: () => number;
  /** Wall-clock ms for the local buckets and the breaker. */
  now: () => number;
  /** Told when decisions move to the local share (true) and back to the shared store (false). */
  onModeChange?: (inFallback: boolean, detail: string) => void;
  /** Told why a recovery probe (or the reconcile after it) failed; the breaker stays open. */
  onProbeFailure?: (err: unknown) => void;
  /**
   * A success clears earlier failures only once none happened for this long (0: any success clears them).
   * Redis Cluster: while one master is down, its tenants' failures interleave with other masters'
   * successes, and a store that fails a third of its checks must still count as failing.
   */
  failureMemoryMs?: number;
}

export class FallbackRateStore implements RateStore {
  readonly breaker: CircuitBreaker;
  private local = new InProcessRateStore();
  /** Tenants decided locally since the breaker opened, with their latest limits: reconciled on recovery. */
  private touched = new Map<string, RateQuery>();
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  /** Checks answered from the local share. */
  localChecks = 0;

  constructor(
    private readonly shared: SharedRateStore,
    private readonly options: FallbackOptions,
  ) {
    this.breaker = new CircuitBreaker(options.breakerFailures, options.breakerCooldownMs, (from, to) =>
      this.changed(from, to),
    );
    const memory = options.failureMemoryMs ?? 0;
    let lastFailureAt = -Infinity;
    shared.onRoundTrip((ok) => {
      if (!ok) {
        lastFailureAt = options.now();
        this.breaker.failure(lastFailureAt);
      } else if (memory === 0 || options.now() - lastFailureAt >= memory) this.breaker.success();
    });
  }

  get kind(): RateStore['kind'] {
    return this.shared.kind;
  }

  get inFallback(): boolean {
    return this.breaker.state !== 'closed';
  }

  get size(): number {
    return this.inFallback ? this.local.size : this.shared.size;
  }

  take(tenant: string, query: RateQuery, nowMs: number): RateAnswer | Promise<RateAnswer> {
    if (this.breaker.state !== 'closed') return this.takeLocal(tenant, query, nowMs);
    let answer: RateAnswer | Promise<RateAnswer>;
    try {
      answer = this.shared.take(tenant, query, nowMs);
    } catch {
      return this.takeLocal(tenant, query, nowMs);
    }
    if (answer instanceof Promise)
      return answer.catch(() => this.takeLocal(tenant, query, this.options.now()));
    return answer;
  }

  peek(tenant: string, query: RateQuery, nowMs: number): { requests: number; ingestion: number } | undefined {
    if (!this.inFallback) return this.shared.peek(tenant, query, nowMs);
    const n = this.options.replicas();
    const levels = this.local.peek(tenant, shareOf(query, n), nowMs);
    return levels && { requests: levels.requests * n, ingestion: levels.ingestion * n };
  }

  /** Checks the breaker now (also done on a timer while open): probes when the cooldown has passed. */
  async probeNow(): Promise<void> {
    if (this.probing || !this.breaker.tryProbe(this.options.now())) return;
    this.probing = true;
    try {
      await this.shared.probe();
      await this.shared.reconcile(this.reconcileEntries());
      this.local = new InProcessRateStore();
      this.touched = new Map();
      this.breaker.probed(true, this.options.now());
    } catch (err) {
      this.breaker.probed(false, this.options.now());
      this.options.onProbeFailure?.(err);
    } finally {
      this.probing = false;
    }
  }

  /** Drops local buckets that are full again (they change no decision). */
  sweep(nowMs: number, queryOf: (tenant: string) => RateQuery): number {
    const n = this.options.replicas();
    return this.local.sweep(nowMs, (tenant) => shareOf(queryOf(tenant), n));
  }

  async close(): Promise<void> {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    await this.shared.close();
  }

  private takeLocal(tenant: string, query: RateQuery, nowMs: number): RateAnswer {
    this.localChecks++;
    // A lone failed round trip while closed is not worth reconciling; a fallback period is.
    if (this.breaker.state !== 'closed') this.touched.set(tenant, query);
    const n = this.options.replicas();
    const share = shareOf(query, n);
    if (!this.local.has(tenant)) {
      // Start the local share where the shared bucket was last seen (this replica's part of it), not full:
      // otherwise every opening of the breaker (a flapping Redis) hands a tenant over its limit a fresh burst.
      const known = this.shared.peek(tenant, query, nowMs);
      if (known !== undefined) this.local.seed(tenant, share, known.requests / n, known.ingestion / n, nowMs);
    }
    return this.local.take(tenant, share, nowMs);
  }

  /** What this replica's local levels say the shared buckets may hold now (levels × replicas). */
  private reconcileEntries(): ReconcileEntry[] {
    const n = this.options.replicas();
    const now = this.options.now();
    const entries: ReconcileEntry[] = [];
    for (const [tenant, query] of this.touched) {
      const levels = this.local.peek(tenant, shareOf(query, n), now);
      if (!levels) continue;
      entries.push({
        tenant,
        query,
        requestCeiling: query.requestRate > 0 ? levels.requests * n : -1,
        ingestionCeiling: levels.ingestion * n,
      });
    }
    return entries;
  }

  private changed(from: BreakerState, to: BreakerState): void {
    if (to === 'open' && from === 'closed') {
      this.options.onModeChange?.(
        true,
        `shared store unreachable: deciding locally with this replica's share (1/${this.options.replicas()}) of each limit`,
      );
      if (!this.probeTimer) {
        this.probeTimer = setInterval(
          () => void this.probeNow(),
          Math.max(50, this.options.breakerCooldownMs / 4),
        );
        this.probeTimer.unref();
      }
    } else if (to === 'closed') {
      if (this.probeTimer) clearInterval(this.probeTimer);
      this.probeTimer = undefined;
      this.options.onModeChange?.(false, 'shared store reachable again: decisions use the shared buckets');
    }
  }
}

/** One replica's share of a limit: rate and burst divided by the replicas (a request bucket keeps room for one). */
export function shareOf(q: RateQuery, replicas: number): RateQuery {
  if (replicas <= 1) return q;
  return {
    requestRate: q.requestRate / replicas,
    requestBurst: Math.max(1, q.requestBurst / replicas),
    ingestionRate: q.ingestionRate / replicas,
    ingestionBurst: q.ingestionBurst / replicas,
    cost: q.cost,
    requestEnforced: q.requestEnforced,
    ...(q.requests !== undefined ? { requests: q.requests } : {}),
  };
}
