// The active-series sketches shared by every replica through Redis: one HyperLogLog key per tenant and time slice,
// `<prefix>as:{<tenant>}:<slice id>` (hash-tagged, so a tenant's slices share one Cluster slot and one PFCOUNT
// merges them), written with PFADD and expiring one window and two slices after their slice. Slice ids are the
// same on every replica (slices start at multiples of the slice length since the epoch).
//
// Nothing here is awaited on the write path: add() appends to a bounded in-memory batch, a timer flushes it in
// one pipeline, and refresh() asks PFCOUNT in the background; estimate() returns the last answer.

import type { RedisConnections } from '../../lib/redis/redis-connections.js';
import type { SharedSketch } from './active-series.js';

export interface RedisSketchOptions {
  keyPrefix: string;
  windowMs: number;
  sliceMs: number;
  /** Most hashes waiting for the next flush; past it, hashes are dropped (and counted) until it runs. */
  maxPending: number;
  onError?: (err: Error) => void;
}

export class RedisSketch implements SharedSketch {
  private pending = new Map<string, string[]>();
  private pendingCount = 0;
  private readonly estimates = new Map<string, number>();
  private readonly asking = new Set<string>();
  dropped = 0;
  flushes = 0;
  errors = 0;

  constructor(
    private readonly connections: RedisConnections,
    private readonly options: RedisSketchOptions,
  ) {}

  key(tenant: string, sliceId: number): string {
    return `${this.options.keyPrefix}as:{${tenant}}:${sliceId}`;
  }

  add(tenant: string, sliceId: number, hi: number, lo: number): void {
    if (this.pendingCount >= this.options.maxPending) {
      this.dropped++;
      return;
    }
    const key = this.key(tenant, sliceId);
    let list = this.pending.get(key);
    if (list === undefined) {
      list = [];
      this.pending.set(key, list);
    }
    list.push(hex(hi) + hex(lo));
    this.pendingCount++;
  }

  estimate(tenant: string): number | undefined {
    return this.estimates.get(tenant);
  }

  /** Sends the batch: PFADD and PEXPIRE per slice key, in one pipeline. Resolves when Redis answered. */
  async flush(): Promise<void> {
    if (this.pendingCount === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.pendingCount = 0;
    const index = this.connections.pick();
    if (index < 0) {
      this.fail(new Error('redis not connected'));
      return;
    }
    const client = this.connections.clients[index]!;
    const ttl = this.options.windowMs + 2 * this.options.sliceMs;
    const pipeline = client.pipeline();
    for (const [key, elements] of batch) {
      pipeline.pfadd(key, ...elements);
      pipeline.pexpire(key, ttl);
    }
    this.connections.started(index);
    try {
      const results = await pipeline.exec();
      for (const [err] of results ?? []) if (err) throw err;
      this.flushes++;
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.connections.finished(index);
    }
  }

  refresh(tenant: string, sliceIds: readonly number[]): void {
    if (this.asking.has(tenant)) return;
    const index = this.connections.pick();
    if (index < 0) return;
    const client = this.connections.clients[index]!;
    this.asking.add(tenant);
    this.connections.started(index);
    client
      .pfcount(...sliceIds.map((id) => this.key(tenant, id)))
      .then(
        (count) => this.estimates.set(tenant, count),
        (err: unknown) => this.fail(err as Error),
      )
      .finally(() => {
        this.asking.delete(tenant);
        this.connections.finished(index);
      });
  }

  /** Forgets a tenant's last estimate (it is no longer tracked). */
  forget(tenant: string): void {
    this.estimates.delete(tenant);
  }

  private fail(err: Error): void {
    this.errors++;
    this.options.onError?.(err);
  }
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
