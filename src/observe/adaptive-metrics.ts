// The rls_adaptive_* families: adaptive protection of the upstream (docs/protection.md#metrics), all read at
// scrape time from what the protection reports, so the hot path pays nothing for them.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** What adaptive protection reports when /metrics is scraped. */
export interface AdaptiveReport {
  mode: 'off' | 'observe' | 'enforce';
  ceiling: number;
  minCeiling: number;
  maxCeiling: number;
  inflight: number;
  /** Items/s ceiling now; 0 when none is configured. */
  samplesCeiling: number;
  samplesRate: number;
  lastReason: string;
  reasons: readonly string[];
  /** The last closed window, per route (write, other). */
  routes: Readonly<Record<string, { p99Ms: number; errorRatio: number; answers: number }>>;
  /** Writes refused (enforce) and that would have been (observe), indexed by edge_priority. */
  shed: ArrayLike<number>;
  wouldShed: ArrayLike<number>;
  /** Ceiling moves since start, keyed `direction:reason`. */
  changes: ReadonlyMap<string, number>;
}

export class AdaptiveMetrics {
  /** Set by the service; absent: the families report nothing but mode off. */
  report: (() => AdaptiveReport) | undefined;

  constructor(registry: Registry) {
    const read = (): AdaptiveReport | undefined => this.report?.();
    const mode: Gauge<'mode'> = new Gauge({
      name: 'rls_adaptive_mode',
      help: 'Adaptive protection of the upstream: 1 for the mode in force (off, observe, enforce), 0 for the others.',
      labelNames: ['mode'] as const,
      registers: [registry],
      collect: () => {
        const m = read()?.mode ?? 'off';
        for (const x of ['off', 'observe', 'enforce']) mode.labels(x).set(x === m ? 1 : 0);
      },
    });
    const ceiling: Gauge = new Gauge({
      name: 'rls_adaptive_ceiling',
      help: 'The adaptive ceiling on writes in flight to the upstream (ADAPTIVE_MAX_CEILING while healthy or off).',
      registers: [registry],
      collect: () => {
        const r = read();
        if (r) ceiling.set(r.ceiling);
      },
    });
    const bound: Gauge<'bound'> = new Gauge({
      name: 'rls_adaptive_ceiling_bound',
      help: 'The bounds of the adaptive ceiling: bound=min (ADAPTIVE_MIN_CEILING), bound=max (ADAPTIVE_MAX_CEILING).',
      labelNames: ['bound'] as const,
      registers: [registry],
      collect: () => {
        const r = read();
        if (!r) return;
        bound.labels('min').set(r.minCeiling);
        bound.labels('max').set(r.maxCeiling);
      },
    });
    const inflight: Gauge = new Gauge({
      name: 'rls_adaptive_inflight',
      help: 'Writes admitted by adaptive protection and not yet answered (0 while off).',
      registers: [registry],
      collect: () => inflight.set(read()?.inflight ?? 0),
    });
    const samplesCeiling: Gauge = new Gauge({
      name: 'rls_adaptive_samples_ceiling',
      help: 'The adaptive ceiling on items per second forwarded (0: ADAPTIVE_MAX_SAMPLES_PER_SECOND not set).',
      registers: [registry],
      collect: () => samplesCeiling.set(read()?.samplesCeiling ?? 0),
    });
    const samplesRate: Gauge = new Gauge({
      name: 'rls_adaptive_samples_per_second',
      help: 'Items per second forwarded over the last second, as the samples ceiling counts them.',
      registers: [registry],
      collect: () => samplesRate.set(read()?.samplesRate ?? 0),
    });
    const p99: Gauge<'route' | 'quantile'> = new Gauge({
      name: 'rls_adaptive_upstream_latency_seconds',
      help: "The upstream's latency at quantile 0.99 over the last window, by route (write: what moves the ceiling; other: watched only).",
      labelNames: ['route', 'quantile'] as const,
      registers: [registry],
      collect: () => {
        for (const [route, w] of Object.entries(read()?.routes ?? {}))
          p99.labels(route, '0.99').set(w.p99Ms / 1000);
      },
    });
    const errors: Gauge<'route'> = new Gauge({
      name: 'rls_adaptive_upstream_error_ratio',
      help: "Share of the upstream's answers over the last window that were 5xx, 429 or none, by route.",
      labelNames: ['route'] as const,
      registers: [registry],
      collect: () => {
        for (const [route, w] of Object.entries(read()?.routes ?? {})) errors.labels(route).set(w.errorRatio);
      },
    });
    const reason: Gauge<'reason'> = new Gauge({
      name: 'rls_adaptive_last_change_reason',
      help: 'Why the ceiling last moved: 1 for the reason (start, latency, errors, stalled, healthy, idle), 0 for the others.',
      labelNames: ['reason'] as const,
      registers: [registry],
      collect: () => {
        const r = read();
        if (!r) return;
        for (const x of r.reasons) reason.labels(x).set(x === r.lastReason ? 1 : 0);
      },
    });
    const changes: Counter<'direction' | 'reason'> = new Counter({
      name: 'rls_adaptive_ceiling_changes_total',
      help: 'Moves of the adaptive ceiling, by direction (down, up) and reason.',
      labelNames: ['direction', 'reason'] as const,
      registers: [registry],
      collect: () => {
        const r = read();
        if (!r) return;
        changes.reset();
        for (const [key, n] of r.changes) {
          const [direction, why] = key.split(':');
          changes.labels(direction!, why!).inc(n);
        }
      },
    });
    const shed: Counter<'priority' | 'mode'> = new Counter({
      name: 'rls_adaptive_shed_total',
      help: 'Writes shed by adaptive protection (429 err-mimir-edge-upstream-overloaded), by edge_priority; mode=observe counts the writes that would have been.',
      labelNames: ['priority', 'mode'] as const,
      registers: [registry],
      collect: () => {
        const r = read();
        if (!r) return;
        shed.reset();
        for (let p = 0; p < r.shed.length; p++) {
          if (r.shed[p]! > 0) shed.labels(String(p), 'enforce').inc(r.shed[p]!);
          if (r.wouldShed[p]! > 0) shed.labels(String(p), 'observe').inc(r.wouldShed[p]!);
        }
      },
    });
  }
}
