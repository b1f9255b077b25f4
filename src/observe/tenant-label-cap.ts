// The one bound on tenant names kept by the edge: which tenants are named in metric labels, admin stats and
// the time-based aggregator, and which are pooled under OTHER_TENANTS. Every per-tenant table asks this one
// cap, so they always agree, and forgets a tenant when this cap evicts it. Labelling a tenant allocates
// nothing once it is tracked or pooled; it never touches the rate buckets (limits stay per real tenant).

/**
 * The pooled name, as issue 10 names it. `__other__` is a valid Mimir tenant id, so a real tenant of that name
 * shares the label with the pool (docs/operations.md says so).
 */
export const OTHER_TENANTS = '__other__';

export interface TenantLabelCapOptions {
  /** Most tenants without configuration named at once (MAX_TENANT_LABELS); the rest are pooled. */
  maxLabels: number;
  /**
   * True for a tenant the operator configured (overrides, runtime limits, enforcement switches). Such tenants
   * are always named: their number is the operator's choice, not a sender's, so they cannot inflate labels.
   */
  isKnown?: (tenant: string) => boolean;
  now: () => number;
}

interface Slot {
  lastSeenMs: number;
}

export class TenantLabelCap {
  readonly maxLabels: number;
  private readonly slots = new Map<string, Slot>();
  private readonly isKnown: (tenant: string) => boolean;
  private readonly now: () => number;
  /** Named tenants that are not configured: the ones the cap counts. */
  private unknownNamed = 0;
  /** Last time a request was pooled; the pool's own state is evicted when it is idle, like a tenant's. */
  private poolLastSeenMs = Number.NEGATIVE_INFINITY;
  private readonly listeners: ((name: string) => void)[] = [];

  constructor(options: TenantLabelCapOptions) {
    this.maxLabels = options.maxLabels;
    this.isKnown = options.isKnown ?? (() => false);
    this.now = options.now;
  }

  /** The name `tenant` is recorded under: itself, or OTHER_TENANTS once MAX_TENANT_LABELS unknown tenants are named. */
  label(tenant: string): string {
    const slot = this.slots.get(tenant);
    if (slot !== undefined) {
      slot.lastSeenMs = this.now();
      return tenant;
    }
    const known = this.isKnown(tenant);
    if (!known && this.unknownNamed >= this.maxLabels) {
      this.poolLastSeenMs = this.now();
      return OTHER_TENANTS;
    }
    this.slots.set(tenant, { lastSeenMs: this.now() });
    if (!known) this.unknownNamed++;
    return tenant;
  }

  /** Whether `tenant` is named now (it has its own label). */
  has(tenant: string): boolean {
    return this.slots.has(tenant);
  }

  /** Named tenants, configured ones included. */
  get size(): number {
    return this.slots.size;
  }

  /** Called with each evicted name, so every table keyed by it drops its state. */
  onEvict(listener: (name: string) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Forgets unknown tenants (and the pool) not seen for `idleMs`, so their label, stats and rings are freed.
   * Configured tenants are kept. O(named tenants); run from a timer, never on the request path.
   * Returns how many names were evicted.
   */
  evictIdle(nowMs: number, idleMs: number): number {
    const cutoff = nowMs - idleMs;
    let evicted = 0;
    let unknown = 0;
    for (const [tenant, slot] of this.slots) {
      const known = this.isKnown(tenant);
      if (!known && slot.lastSeenMs <= cutoff) {
        // A real tenant named like the pool shares its state: keep it while the pool is busy.
        if (tenant === OTHER_TENANTS && this.poolLastSeenMs > cutoff) {
          unknown++;
          continue;
        }
        this.slots.delete(tenant);
        this.emit(tenant);
        evicted++;
      } else if (!known) unknown++;
    }
    // Recounted, not adjusted: a tenant's configuration may have been added or removed since it was named.
    this.unknownNamed = unknown;
    if (this.poolLastSeenMs > Number.NEGATIVE_INFINITY && this.poolLastSeenMs <= cutoff) {
      this.poolLastSeenMs = Number.NEGATIVE_INFINITY;
      if (!this.slots.has(OTHER_TENANTS)) {
        this.emit(OTHER_TENANTS);
        evicted++;
      }
    }
    return evicted;
  }

  private emit(name: string): void {
    for (const listener of this.listeners) listener(name);
  }
}
