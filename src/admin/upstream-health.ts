// Whether the upstream (Mimir's distributors) is ready, for the admin views: a GET of UPSTREAM_HEALTH_PATH on its
// own timer, with its own connection and a bounded timeout. It must never touch the proxy's pool or hot path: a
// slow or dead upstream only makes this probe's own request fail. It also keeps how many forwards failed recently,
// read from the counters the proxy already maintains.

import { performance } from 'node:perf_hooks';
import type { Counter } from 'prom-client';
import { Agent, request } from 'undici';
import { redactUrl } from '../lib/redact-url.js';

export type UpstreamHealthState = 'up' | 'down' | 'unknown';

/** How many recent probe intervals the proxy's forward failures are summed over. */
const RECENT_INTERVALS = 6;
/** The most of a failing answer's body kept in `last_error`: enough for Mimir's "Ingester not ready: …". */
const MAX_ERROR_BODY = 200;

export interface UpstreamHealthOptions {
  upstreamUrl: URL;
  /** Empty: no probe; the state stays `unknown`. */
  path: string;
  intervalMs: number;
  timeoutMs: number;
  now: () => number;
  /**
   * Forwards since start that got no answer or a 5xx from the upstream (the proxy's metrics); sampled on each
   * tick, so the admin view can say how many failed lately without reading the hot path.
   */
  forwardFailures?: () => Promise<number>;
  /** Told when the state changes (for the log). */
  onChange?: (state: UpstreamHealthState, detail: string) => void;
}

export interface UpstreamHealthJson {
  target: string;
  probe_url: string | null;
  status: UpstreamHealthState;
  last_check: string | null;
  latency_ms: number | null;
  /** HTTP status of the last answer (null: none, or the probe is off). */
  last_status_code: number | null;
  last_error: { time: string; message: string } | null;
  since: string | null;
  interval_seconds: number;
  /** Forwarded requests that got no answer or a 5xx in the last `recent_seconds` (the proxy's own traffic). */
  recent_forward_failures: number;
  recent_seconds: number;
}

export class UpstreamHealthProbe {
  private state: UpstreamHealthState = 'unknown';
  private lastCheckMs: number | undefined;
  private latencyMs: number | null = null;
  private statusCode: number | null = null;
  private lastError: { timeMs: number; message: string } | undefined;
  private sinceMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Forward-failure counter readings, one per tick, newest last. */
  private readonly failureSamples: number[] = [];
  private readonly probeUrl: URL | undefined;
  /** One connection of its own, so a probe never queues behind (or in front of) forwarded writes. */
  private readonly agent = new Agent({ connections: 1, pipelining: 0, keepAliveTimeout: 1000 });

  constructor(private readonly options: UpstreamHealthOptions) {
    if (options.path) {
      const base = new URL(options.upstreamUrl.href);
      // Mimir serves /ready at the root; a URL with a path prefix (a gateway's /mimir) keeps its prefix.
      base.pathname = base.pathname.replace(/\/+$/, '') + options.path;
      base.search = '';
      this.probeUrl = base;
    }
  }

  get enabled(): boolean {
    return this.probeUrl !== undefined;
  }

  get status(): UpstreamHealthState {
    return this.state;
  }

  /**
   * Probes every interval, the first time one interval after start: a replica starting together with Mimir
   * would otherwise report "down" for distributors that are still coming up.
   */
  start(): void {
    void this.sampleFailures();
    // Ticks even without a probe path: the recent forward failures are still worth showing.
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  /** One probe now; a probe still running is reused rather than doubled. */
  check(): Promise<void> {
    this.running ??= this.probe().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async probe(): Promise<void> {
    await this.sampleFailures();
    const url = this.probeUrl;
    if (!url) return;
    const started = performance.now();
    let state: UpstreamHealthState;
    let error: string | undefined;
    let code: number | null = null;
    try {
      const res = await request(url, {
        method: 'GET',
        dispatcher: this.agent,
        headers: { 'user-agent': 'mimir-edge-enforcement health probe' },
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      code = res.statusCode;
      const body = (await res.body.text()).trim();
      if (code >= 200 && code < 300) state = 'up';
      else {
        state = 'down';
        error = `GET ${url.pathname} answered ${code}${body ? `: ${body.slice(0, MAX_ERROR_BODY)}` : ''}`;
      }
    } catch (err) {
      state = 'down';
      error = `GET ${url.pathname} failed: ${describeError(err, this.options.timeoutMs)}`;
    }
    const nowMs = this.options.now();
    this.lastCheckMs = nowMs;
    this.latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    this.statusCode = code;
    if (error) this.lastError = { timeMs: nowMs, message: error };
    if (state !== this.state) {
      this.sinceMs = nowMs;
      this.options.onChange?.(state, error ?? `GET ${url.pathname} answered ${code}`);
    }
    this.state = state;
  }

  private async sampleFailures(): Promise<void> {
    if (!this.options.forwardFailures) return;
    try {
      this.failureSamples.push(await this.options.forwardFailures());
    } catch {
      return; // A metrics read cannot fail in practice; a missed sample only shortens the window.
    }
    if (this.failureSamples.length > RECENT_INTERVALS + 1) this.failureSamples.shift();
  }

  toJSON(): UpstreamHealthJson {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    // Sampled on each tick (prom-client reads are async): the figure is at most one interval old.
    const samples = this.failureSamples;
    const recent = samples.length > 0 ? samples[samples.length - 1]! - samples[0]! : 0;
    return {
      target: redactUrl(this.options.upstreamUrl.origin),
      probe_url: this.probeUrl ? redactUrl(this.probeUrl) : null,
      status: this.state,
      last_check: iso(this.lastCheckMs),
      latency_ms: this.lastCheckMs === undefined ? null : this.latencyMs,
      last_status_code: this.statusCode,
      last_error: this.lastError
        ? { time: iso(this.lastError.timeMs)!, message: this.lastError.message }
        : null,
      since: iso(this.sinceMs),
      interval_seconds: this.options.intervalMs / 1000,
      recent_forward_failures: Math.max(0, recent),
      recent_seconds: (this.options.intervalMs * Math.max(0, samples.length - 1)) / 1000,
    };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    // A second stop (service stopped twice) finds the agent closed already: nothing left to do.
    if (!this.agent.closed && !this.agent.destroyed) await this.agent.close();
  }
}

/** A connection error as an operator reads it: the code (ECONNREFUSED) rather than undici's class name. */
function describeError(err: unknown, timeoutMs: number): string {
  const e = err as {
    name?: string;
    code?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT')
    return `no answer within ${timeoutMs} ms`;
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? e.message ?? String(err);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}

/**
 * Forwards that failed because of the upstream, from the proxy's counters: no answer (timeout, unavailable) or
 * a 5xx. A client that left (`client_gone`) and a reset that was retried are not the upstream's failures.
 */
export async function forwardFailures(errors: Counter<'cause'>, responses: Counter<'code'>): Promise<number> {
  const [e, r] = await Promise.all([errors.get(), responses.get()]);
  let n = 0;
  for (const v of e.values)
    if (v.labels.cause === 'timeout' || v.labels.cause === 'unavailable') n += v.value;
  for (const v of r.values) if (String(v.labels.code ?? '').startsWith('5')) n += v.value;
  return n;
}
