// What selective filtering already delivered of a request, so that the sender's retry of the same bytes sends
// only the rest. Resending the delivered part would not be harmless: Prometheus refuses a sample older than its
// series' newest as out of order (and rolls back the whole write), and Mimir answers 400 for it. Senders retry
// with the very bytes they sent (Prometheus keeps the encoded batch across attempts), so the body identifies
// the retry. Kept in this process, bounded in entries and age; a tenant with nothing pending pays one Map lookup.

import { createHash } from 'node:crypto';

interface Entry {
  tenant: string;
  /** Series delivered so far, from the first in body order. */
  series: number;
  atMs: number;
}

export class DeliveredPrefixes {
  private readonly entries = new Map<string, Entry>();
  private readonly pendingByTenant = new Map<string, number>();

  /**
   * `maxEntries` bounds memory (the oldest entry goes first); `ttlMs` outlasts any sender's retry backoff
   * (Prometheus caps it at max_backoff, 5 s by default, and gives up on a batch long before 15 minutes).
   */
  constructor(
    readonly maxEntries = 10_000,
    readonly ttlMs = 15 * 60_000,
  ) {}

  /** The key of one request: its tenant and its (decompressed) bytes. */
  static key(tenant: string, body: Uint8Array): string {
    return createHash('sha256').update(tenant).update('\0').update(body).digest('base64');
  }

  /** Whether any request of `tenant` was delivered in part and not yet completed. */
  hasPending(tenant: string): boolean {
    return this.pendingByTenant.has(tenant);
  }

  /** Series of the request `key` delivered so far; undefined when none (or too long ago). */
  get(key: string, nowMs: number): number | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (nowMs - e.atMs > this.ttlMs) {
      this.delete(key);
      return undefined;
    }
    return e.series;
  }

  set(key: string, tenant: string, series: number, nowMs: number): void {
    if (this.entries.has(key)) this.entries.delete(key);
    else this.pendingByTenant.set(tenant, (this.pendingByTenant.get(tenant) ?? 0) + 1);
    // Re-inserted, so the Map's order stays oldest first.
    this.entries.set(key, { tenant, series, atMs: nowMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    const left = (this.pendingByTenant.get(e.tenant) ?? 1) - 1;
    if (left > 0) this.pendingByTenant.set(e.tenant, left);
    else this.pendingByTenant.delete(e.tenant);
  }

  /** Forgets entries older than the TTL; returns how many. */
  sweep(nowMs: number): number {
    let dropped = 0;
    for (const [key, e] of this.entries) {
      if (nowMs - e.atMs <= this.ttlMs) break; // oldest first: the rest are younger
      this.delete(key);
      dropped++;
    }
    return dropped;
  }

  get size(): number {
    return this.entries.size;
  }
}
