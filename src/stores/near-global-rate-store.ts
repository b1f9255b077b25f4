// Near-global mode for very hot tenants (Gubernator's GLOBAL behaviour): each replica allows from a
// local share of the shared bucket with no round trip, and every sync interval reports what it allowed
// to Redis (as a debit that may leave the bucket in debt) and reads the fleet's level back. Anything the
// local share cannot cover goes to the exact store, so this never denies what exact mode would allow.

import { refill } from '../lib/engine/token-bucket.js';
import type { TokenBucketState } from '../lib/engine/token-bucket.js';
import type { RoundTripListener } from '../lib/redis/circuit-breaker.js';
import type { ReconcileEntry, SharedRateStore } from './fallback-rate-store.js';
import type { RateAnswer, RateQuery } from './rate-store.js';
import type { TakeReply } from './redis/bucket-scripts.js';

/** The exact store underneath, plus the debit a sync sends (RedisRateStore). */
export interface NearGlobalBackend extends SharedRateStore {
  debit(tenant: string, query: RateQuery, requests: number, ingestion: number): Promise<TakeReply>;
}

export interface NearGlobalOptions {
  /** Tenants decided near-globally; '*' = all. */
  tenants: readonly string[];
  syncMs: number;
  /** Replicas sharing each limit (live ones from heartbeats, or a configured count). */
  replicas: () => number;
  /** Monotonic milliseconds for the local shares. */
  now: () => number;
  /** false: no timer; the owner calls syncNow() (tests drive time). */
  autoSync?: boolean;
}

interface HotTenant {
  /** Limits the local shares were computed for. */
  query: RateQuery;
  /** This replica's share of each bucket; meaningful once `synced`. */
  requests: TokenBucketState;
  ingestion: TokenBucketState;
  replicas: number;
  /** Tokens allowed here and not yet reported to Redis. */
  unreportedRequests: number;
  unreportedIngestion: number;
  synced: boolean;
  syncing: boolean;
  lastTakeMs: number;
}

const ALLOWED: RateAnswer = Object.freeze({ requestWaitMs: 0, ingestionWaitMs: 0 });
/** A tenant with no take for this long and nothing to report is forgotten (its share goes back). */
const IDLE_MS = 2000;

export class NearGlobalRateStore implements SharedRateStore {
  readonly kind = 'redis';
  readonly inFallback = false;
  private readonly hot = new Map<string, HotTenant>();
  private readonly all: boolean;
  private readonly names: ReadonlySet<string>;
  private timer: NodeJS.Timeout | undefined;
  /** Checks allowed from the local share, with no round trip. */
  localChecks = 0;
  /** Sync round trips that reported local takes and read the level back. */
  syncs = 0;

  constructor(
    private readonly exact: NearGlobalBackend,
    private readonly options: NearGlobalOptions,
  ) {
    this.all = options.tenants.includes('*');
    this.names = new Set(options.tenants);
    if (options.autoSync !== false && options.tenants.length > 0) {
      this.timer = setInterval(() => this.syncNow(), options.syncMs);
      this.timer.unref();
    }
  }

  isNearGlobal(tenant: string): boolean {
    return this.all || this.names.has(tenant);
  }

  take(tenant: string, q: RateQuery, nowMs: number): RateAnswer | Promise<RateAnswer> {
    if (!this.isNearGlobal(tenant)) return this.exact.take(tenant, q, nowMs);
    const t = this.options.now();
    let h = this.hot.get(tenant);
    if (h === undefined) {
      h = {
        query: q,
        requests: { tokens: 0, updatedAtMs: t },
        ingestion: { tokens: 0, updatedAtMs: t },
        replicas: 1,
        unreportedRequests: 0,
        unreportedIngestion: 0,
        synced: false,
        syncing: false,
        lastTakeMs: t,
      };
      this.hot.set(tenant, h);
    } else if (!sameLimits(h.query, q)) {
      // New limits: the local shares are void until the next sync; what was allowed is still reported.
      h.query = q;
      h.synced = false;
    }
    h.lastTakeMs = t;
    if (h.synced && this.takeLocal(h, q, t)) {
      this.localChecks++;
      return ALLOWED;
    }
    return this.exact.take(tenant, q, nowMs);
  }

  /** Reports every hot tenant's local takes and refreshes its share: one batched round trip. */
  syncNow(): void {
    const t = this.options.now();
    for (const [tenant, h] of this.hot) {
      if (h.syncing) continue;
      if (t - h.lastTakeMs > IDLE_MS && h.unreportedRequests === 0 && h.unreportedIngestion === 0) {
        this.hot.delete(tenant);
        continue;
      }
      const query = h.query;
      const requests = h.unreportedRequests;
      const ingestion = h.unreportedIngestion;
      h.unreportedRequests = 0;
      h.unreportedIngestion = 0;
      h.syncing = true;
      this.exact.debit(tenant, query, requests, ingestion).then(
        (r) => {
          h.syncing = false;
          this.syncs++;
          if (h.query !== query) return;
          this.applyLevels(h, r, this.options.now());
        },
        () => {
          // Not reported: report it with the next sync; meanwhile decide exactly (the breaker sees the failure).
          h.syncing = false;
          h.unreportedRequests += requests;
          h.unreportedIngestion += ingestion;
          h.synced = false;
        },
      );
    }
  }

  peek(tenant: string, q: RateQuery, nowMs: number): { requests: number; ingestion: number } | undefined {
    return this.exact.peek(tenant, q, nowMs);
  }

  get size(): number {
    return this.exact.size + this.hot.size;
  }

  /** Tenants holding a local share now. */
  get hotTenants(): number {
    return this.hot.size;
  }

  onRoundTrip(listener: RoundTripListener): void {
    this.exact.onRoundTrip(listener);
  }

  probe(): Promise<void> {
    return this.exact.probe();
  }

  /** After a fallback period the shares are void: they are read again from the reconciled buckets. */
  async reconcile(entries: readonly ReconcileEntry[]): Promise<void> {
    this.hot.clear();
    await this.exact.reconcile(entries);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Report what was allowed locally, so the fleet's buckets keep it after this replica stops.
    this.syncNow();
    await this.exact.close();
  }

  /** Allows from the local share when it covers every bucket the query takes from. */
  private takeLocal(h: HotTenant, q: RateQuery, t: number): boolean {
    const n = h.replicas;
    const requests = q.requests ?? 1;
    if (q.requestRate > 0) {
      refill(h.requests, q.requestRate / n, q.requestBurst / n, t);
      if (h.requests.tokens < requests) return false;
    }
    if (q.cost > 0) {
      refill(h.ingestion, q.ingestionRate / n, q.ingestionBurst / n, t);
      if (h.ingestion.tokens < q.cost) return false;
    }
    if (q.requestRate > 0) {
      h.requests.tokens -= requests;
      h.unreportedRequests += requests;
    }
    if (q.cost > 0) {
      h.ingestion.tokens -= q.cost;
      h.unreportedIngestion += q.cost;
    }
    return true;
  }

  /**
   * The fleet's levels after our report, split into this replica's share. Takes allowed here while the
   * sync was in flight are not in those levels yet: they come off the share.
   */
  private applyLevels(h: HotTenant, r: TakeReply, t: number): void {
    const n = Math.max(1, this.options.replicas());
    const q = h.query;
    h.replicas = n;
    const req = r.requestLevel < 0 && q.requestRate <= 0 ? q.requestBurst : r.requestLevel;
    h.requests.tokens = Math.min(req, q.requestBurst) / n - h.unreportedRequests;
    h.requests.updatedAtMs = t;
    h.ingestion.tokens = Math.min(r.ingestionLevel, q.ingestionBurst) / n - h.unreportedIngestion;
    h.ingestion.updatedAtMs = t;
    h.synced = true;
  }
}

function sameLimits(a: RateQuery, b: RateQuery): boolean {
  return (
    a.ingestionRate === b.ingestionRate &&
    a.ingestionBurst === b.ingestionBurst &&
    a.requestRate === b.requestRate &&
    a.requestBurst === b.requestBurst
  );
}
