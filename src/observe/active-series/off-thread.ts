// Active series read off the event loop (docs/active-series.md#off-the-event-loop). A write to be read is copied
// into a bounded shared ring (handover-ring.ts) and hashed by a worker thread (active-series-worker.ts), which owns
// those tenants' sketches, filters, top names and trend, and their Redis sharing. The event loop pays only the
// copy; when the ring is full or the worker down, the write is not read (and counted), never waited for.
//
// Tenants with enforce_max_series_at_edge stay on the event loop (`main`, an in-thread tracker): their check needs
// a synchronous new-vs-known answer for every write, so they pay today's hashing cost there.
//
// The synchronous reads (snapshot, topGrowth, /metrics) answer from a mirror the worker posts on every refresh
// tick and on sync(), which the admin API awaits first.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RedisSettings } from '../../lib/redis/redis-settings.js';
import type { WriteFormat } from '../../remote-write/request-info.js';
import { limitFigures, SLICES_PER_WINDOW } from './active-series.js';
import type { ActiveSeries, ActiveSeriesOptions, TenantActiveSeries } from './active-series.js';
import { createRingBuffer, RingProducer } from './handover-ring.js';
import type { HandoverEncoding } from './handover-ring.js';
import type { ActiveSeriesTracker, HandoverCounters } from './tracker.js';
import type { FromWorker, Mirror, MirrorTenant, ToWorker, WorkerSettings } from './worker-protocol.js';

/** Where the worker's code is; `tsx`: a .ts source, run through tsx's require hook (tests, benchmarks). */
export interface WorkerEntry {
  url: URL;
  tsx?: boolean;
}

/**
 * The worker beside this module: the compiled .js in dist/ (plain node); from the sources (vitest, tsx), the .ts
 * through tsx. A Node 20 worker does not inherit tsx's module hooks, and `--import tsx` in its execArgv is not
 * applied to its entry, so the .ts is required through tsx's CommonJS hook instead.
 */
export function activeSeriesWorkerEntry(): WorkerEntry {
  const js = new URL('./active-series-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { url: js };
  return { url: new URL('./active-series-worker.ts', import.meta.url), tsx: true };
}

function newWorker(entry: WorkerEntry, workerData: WorkerSettings): Worker {
  if (!entry.tsx) return new Worker(entry.url, { workerData });
  const hook = createRequire(import.meta.url).resolve('tsx/cjs');
  const code = `require(${JSON.stringify(hook)}); require(${JSON.stringify(fileURLToPath(entry.url))});`;
  return new Worker(code, { eval: true, workerData });
}

export interface OffThreadOptions extends ActiveSeriesOptions {
  /** Most bytes of writes waiting for the worker (the ring's size). */
  queueBytes: number;
}

export interface OffThreadDeps {
  /** The in-thread tracker of the tenants that enforce (and the one new-vs-known masks come from). */
  main: ActiveSeries;
  redis: RedisSettings | undefined;
  now: () => number;
  log: (level: 'warn' | 'error', msg: string, err: string) => void;
  entry?: WorkerEntry;
  /** Restart backoff: the first delay, doubled on each death in a row up to the last (default 1 s .. 60 s). */
  restartMinMs?: number;
  restartMaxMs?: number;
  /** How long sync() waits for the worker before answering from the mirror it has (default 2 s). */
  syncTimeoutMs?: number;
}

/** Ticks (refresh of the shared estimate, sweep, mirror) at most this often, whatever ACTIVE_SERIES_REFRESH says. */
const MIN_TICK_MS = 100;
/** A worker that lived this long before dying starts the backoff over. */
const STABLE_MS = 60_000;

export class OffThreadActiveSeries implements ActiveSeriesTracker {
  readonly handover: HandoverCounters = { dropped: { queue_full: 0, worker_down: 0 }, restarts: 0 };
  private readonly main: ActiveSeries;
  private worker: Worker | undefined;
  private producer: RingProducer | undefined;
  private readonly counts = new Map<string, number>();
  private mirror: Mirror | undefined;
  private mirrorByTenant = new Map<string, MirrorTenant>();
  private readonly tick: NodeJS.Timeout;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private startedAt = 0;
  private loggedDeath = false;
  private closing = false;
  private nextSyncId = 1;
  private readonly waiting = new Map<number, () => void>();
  private closed: (() => void) | undefined;
  /** The worker said it is loaded: before that, it has read nothing and holds nothing to send on close. */
  private ready = false;

  constructor(
    readonly options: OffThreadOptions,
    private readonly deps: OffThreadDeps,
  ) {
    this.main = deps.main;
    this.start();
    this.tick = setInterval(
      () => this.send({ type: 'tick', nowMs: deps.now() }),
      Math.max(MIN_TICK_MS, options.refreshMs),
    );
    this.tick.unref();
  }

  /** The running worker (undefined while it is restarted). */
  get currentWorker(): Worker | undefined {
    return this.worker;
  }

  /** Bytes of writes waiting for the worker. */
  get queuedBytes(): number {
    return this.producer?.queuedBytes ?? 0;
  }

  observe(
    tenant: string,
    decoded: Uint8Array,
    format: WriteFormat,
    nowMs: number,
    always = false,
    wire?: Uint8Array,
  ): boolean {
    if (always) return this.main.observe(tenant, decoded, format, nowMs, true);
    // Every sampleEvery-th write of each tenant, the first one included, as the in-thread tracker counts.
    const n = this.counts.get(tenant) ?? 0;
    if (n === 0 && this.counts.size >= this.options.maxTenants * 4) this.counts.clear();
    this.counts.set(tenant, n + 1);
    if (n % this.options.sampleEvery !== 0) return false;
    const producer = this.producer;
    if (producer === undefined) {
      this.handover.dropped.worker_down++;
      return false;
    }
    // The smaller of the two bodies: the one received (compressed, the worker decodes it) or the decoded one.
    let body = decoded;
    let encoding: HandoverEncoding = 'identity';
    if (wire !== undefined && wire !== decoded && wire.length < decoded.length) {
      body = wire;
      encoding = format === 'prw1' || format === 'prw2' ? 'snappy' : 'gzip';
    }
    if (!producer.offer(tenant, format, encoding, nowMs, decoded.length, body)) {
      this.handover.dropped.queue_full++;
      return false;
    }
    return true;
  }

  newSeries(
    tenant: string,
    decoded: Uint8Array,
    format: WriteFormat,
    series: number,
    nowMs: number,
  ): Uint8Array {
    return this.main.newSeries(tenant, decoded, format, series, nowMs);
  }

  refused(tenant: string): void {
    this.main.refused(tenant);
  }

  /** For the max_global_series_per_user check: enforcing tenants are counted on the event loop. */
  activeSeries(tenant: string, nowMs: number): number {
    if (this.main.has(tenant)) return this.main.activeSeries(tenant, nowMs);
    return this.mirrorByTenant.get(tenant)?.snapshot.activeSeries ?? 0;
  }

  topGrowth(rangeMs: number, top: number, nowMs: number): { tenant: string; value: number }[] {
    const minutes = Math.max(1, Math.min(60, Math.round(rangeMs / 60_000)));
    const byTenant = new Map<string, number>();
    for (const { tenant, value } of this.main.topGrowth(rangeMs, Number.MAX_SAFE_INTEGER, nowMs))
      byTenant.set(tenant, value);
    // The mirror's minutes are counted back from its own time; those before `nowMs`'s range are left out.
    const shift =
      this.mirror === undefined ? 0 : Math.floor(nowMs / 60_000) - Math.floor(this.mirror.nowMs / 60_000);
    for (const [tenant, m] of this.mirrorByTenant) {
      let added = 0;
      for (let i = 0; i < minutes - shift && i < m.newPerMinute.length; i++) added += m.newPerMinute[i]!;
      if (added <= 0) continue;
      const value = added / (minutes * 60);
      if (value > (byTenant.get(tenant) ?? 0)) byTenant.set(tenant, value);
    }
    const out = [...byTenant].map(([tenant, value]) => ({ tenant, value }));
    out.sort((a, b) => b.value - a.value || (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
    return out.slice(0, top);
  }

  /**
   * A tenant read on both sides (it switched enforcement on or off within the window) shows the side that counts
   * more series: each side saw only its part, so the larger is the nearer.
   */
  snapshot(tenant: string, limit: number, nowMs: number): TenantActiveSeries | undefined {
    const here = this.main.snapshot(tenant, limit, nowMs);
    const m = this.mirrorByTenant.get(tenant);
    if (m === undefined) return here;
    const s = m.snapshot;
    if (here !== undefined && here.activeSeries >= s.activeSeries) return here;
    return {
      ...s,
      limit,
      ...limitFigures(s.activeSeries, s.growthPerMinute, limit),
      newSeriesRefused: here?.newSeriesRefused ?? 0,
    };
  }

  tenantNames(): Iterable<string> {
    const names = new Set(this.main.tenantNames());
    for (const tenant of this.mirrorByTenant.keys()) names.add(tenant);
    return names;
  }

  get trackedTenants(): number {
    let n = this.main.trackedTenants;
    for (const tenant of this.mirrorByTenant.keys()) if (!this.main.has(tenant)) n++;
    return n;
  }

  get memoryBytes(): number {
    return this.main.memoryBytes + (this.mirror?.memoryBytes ?? 0);
  }

  get untracked(): number {
    return this.main.untracked + (this.mirror?.untracked ?? 0);
  }

  /** Writes the worker read and series it hashed, as of its last mirror. */
  get workerRead(): { requests: number; series: number; errors: number } {
    const m = this.mirror;
    return { requests: m?.requestsRead ?? 0, series: m?.seriesRead ?? 0, errors: m?.readErrors ?? 0 };
  }

  /** Has the worker read every write handed over so far and post its figures; resolves within syncTimeoutMs. */
  sync(): Promise<void> {
    if (this.worker === undefined) return Promise.resolve();
    const id = this.nextSyncId++;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve();
      }, this.deps.syncTimeoutMs ?? 2000);
      timer.unref();
      this.waiting.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
      this.send({ type: 'sync', id, nowMs: this.deps.now() });
    });
  }

  /** Stops the ticks and the worker (after it sent its Redis batch, 2 s at most). */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.tick);
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (worker === undefined) return;
    if (this.ready) {
      const closed = new Promise<void>((resolve) => {
        this.closed = resolve;
        setTimeout(resolve, 2000).unref();
      });
      this.send({ type: 'close' });
      await closed;
    }
    this.producer = undefined;
    this.worker = undefined;
    await worker.terminate();
    for (const resolve of this.waiting.values()) resolve();
    this.waiting.clear();
  }

  private send(message: ToWorker): void {
    try {
      this.worker?.postMessage(message);
    } catch {
      // A worker that just exited: the exit handler restarts it.
    }
  }

  private start(): void {
    const entry = this.deps.entry ?? activeSeriesWorkerEntry();
    const ring = createRingBuffer(this.options.queueBytes);
    const settings: WorkerSettings = {
      options: {
        windowMs: this.options.windowMs,
        maxTenants: this.options.maxTenants,
        sampleEvery: this.options.sampleEvery,
        filterMaxBytes: this.options.filterMaxBytes,
        refreshMs: this.options.refreshMs,
        ...(this.options.maxBytes !== undefined ? { maxBytes: this.options.maxBytes } : {}),
      },
      redis: this.deps.redis,
      ring,
      sweepMs: Math.max(1000, this.options.windowMs / SLICES_PER_WINDOW / 2),
    };
    let worker: Worker;
    try {
      worker = newWorker(entry, settings);
    } catch (err) {
      this.died(`could not start: ${(err as Error).message}`);
      return;
    }
    worker.unref();
    this.worker = worker;
    this.ready = false;
    this.producer = new RingProducer(ring);
    this.startedAt = Date.now();
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (err) => {
      if (this.worker === worker) this.died(err.message);
    });
    worker.on('exit', (code) => {
      if (this.worker === worker && !this.closing) this.died(`exited with code ${code}`);
    });
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'mirror') {
      this.mirror = message.mirror;
      const byTenant = new Map<string, MirrorTenant>();
      for (const t of message.mirror.tenants) byTenant.set(t.snapshot.tenant, t);
      this.mirrorByTenant = byTenant;
      for (const [id, resolve] of this.waiting) {
        if (id > message.id) continue;
        this.waiting.delete(id);
        resolve();
      }
    } else if (message.type === 'log') {
      this.deps.log(message.level, message.msg, message.err);
    } else if (message.type === 'ready') {
      this.ready = true;
    } else {
      this.closed?.();
    }
  }

  /** Writes meant for the worker are dropped until it is back; it is started again after a backoff. */
  private died(why: string): void {
    const worker = this.worker;
    this.worker = undefined;
    this.producer = undefined;
    void worker?.terminate().catch(() => undefined);
    for (const resolve of this.waiting.values()) resolve();
    this.waiting.clear();
    if (this.closing) return;
    if (!this.loggedDeath) {
      this.loggedDeath = true;
      this.deps.log(
        'error',
        'active series: worker died; restarting it (further deaths are only counted)',
        why,
      );
    }
    if (Date.now() - this.startedAt > STABLE_MS) this.failures = 0;
    const min = this.deps.restartMinMs ?? 1000;
    const delay = Math.min(this.deps.restartMaxMs ?? 60_000, min * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 30);
    this.handover.restarts++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.closing) this.start();
    }, delay);
    this.restartTimer.unref();
  }
}
