// HTTP load generators over an undici Pool: an open-loop driver (requests sent on a fixed schedule,
// whatever the responses do) and a closed-loop driver (N workers, each sending its next request as soon as
// the previous one is answered). Both are bounded in count and time.

import { Pool } from 'undici';
import { summarize } from './stats.js';
import type { LatencySummary } from './stats.js';

export interface RequestSpec {
  /** e.g. http://127.0.0.1:8080 — the benchmarks only ever target 127.0.0.1. */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface LoadResult {
  /** Requests sent. */
  sent: number;
  /** Requests answered 2xx. */
  ok: number;
  /** Non-2xx answers and transport errors, with the first message seen. */
  errors: number;
  firstError: string | undefined;
  /** Statuses other than 2xx, by code. */
  statuses: Record<string, number>;
  /** Wall time from the first send to the last completion, in ms. */
  elapsedMs: number;
  /** 2xx answers per second over `elapsedMs`. */
  achievedRps: number;
  /** Latency of 2xx answers in ms, from the moment the request was handed to the pool until its body was read. */
  latency: LatencySummary;
}

export interface OpenLoopResult extends LoadResult {
  offeredRps: number;
  /** How late the generator dispatched requests versus their schedule (ms): p99 and max. */
  scheduleLagP99Ms: number;
  scheduleLagMaxMs: number;
}

export interface ClosedLoopResult extends LoadResult {
  concurrency: number;
}

export function newPool(origin: string, connections: number): Pool {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(origin)) {
    throw new Error(`benchmarks only send traffic to 127.0.0.1, refusing ${origin}`);
  }
  return new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
}

class Recorder {
  readonly latencies: number[] = [];
  sent = 0;
  errors = 0;
  firstError: string | undefined;
  readonly statuses: Record<string, number> = {};
  firstSend = Infinity;
  lastEnd = 0;

  async send(pool: Pool, spec: RequestSpec): Promise<void> {
    const t0 = performance.now();
    if (t0 < this.firstSend) this.firstSend = t0;
    this.sent++;
    try {
      const res = await pool.request({
        path: spec.path,
        method: 'POST',
        headers: spec.headers,
        body: spec.body,
      });
      const text = await res.body.text();
      const t1 = performance.now();
      this.lastEnd = Math.max(this.lastEnd, t1);
      if (res.statusCode >= 200 && res.statusCode < 300) {
        this.latencies.push(t1 - t0);
      } else {
        this.errors++;
        this.statuses[res.statusCode] = (this.statuses[res.statusCode] ?? 0) + 1;
        this.firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
      }
    } catch (err) {
      this.lastEnd = Math.max(this.lastEnd, performance.now());
      this.errors++;
      this.firstError ??= err instanceof Error ? err.message : String(err);
    }
  }

  result(): LoadResult {
    const elapsedMs = this.lastEnd > this.firstSend ? this.lastEnd - this.firstSend : NaN;
    return {
      sent: this.sent,
      ok: this.latencies.length,
      errors: this.errors,
      firstError: this.firstError,
      statuses: this.statuses,
      elapsedMs,
      achievedRps: (this.latencies.length * 1000) / elapsedMs,
      latency: summarize(this.latencies),
    };
  }
}

/**
 * Sends `ratePerSecond × durationMs/1000` requests on a fixed schedule (one every 1000/rate ms; a late timer
 * sends every request that is due at once) without waiting for answers, then waits for all of them.
 */
export async function openLoop(
  pool: Pool,
  spec: RequestSpec,
  ratePerSecond: number,
  durationMs: number,
): Promise<OpenLoopResult> {
  const total = Math.round((ratePerSecond * durationMs) / 1000);
  const intervalMs = 1000 / ratePerSecond;
  const rec = new Recorder();
  const inflight: Promise<void>[] = [];
  const lags: number[] = [];
  const start = performance.now() + 10;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        lags.push(now - (start + next * intervalMs));
        inflight.push(rec.send(pool, spec));
        next++;
      }
      if (next >= total) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    };
    setTimeout(tick, 10);
  });
  const lastScheduled = performance.now();
  await Promise.all(inflight);
  lags.sort((a, b) => a - b);
  const base = rec.result();
  return {
    ...base,
    offeredRps: (total * 1000) / (lastScheduled - rec.firstSend + intervalMs),
    scheduleLagP99Ms: lags[Math.max(0, Math.ceil(0.99 * lags.length) - 1)] ?? NaN,
    scheduleLagMaxMs: lags[lags.length - 1] ?? NaN,
  };
}

/** `concurrency` workers each send, await the answer and send again until `durationMs` has passed. */
export async function closedLoop(
  pool: Pool,
  spec: RequestSpec,
  concurrency: number,
  durationMs: number,
): Promise<ClosedLoopResult> {
  const rec = new Recorder();
  const deadline = performance.now() + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) await rec.send(pool, spec);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ...rec.result(), concurrency };
}
