// How a burst flag looks in the admin API (GET /api/bursts, each tenant's `burst`): rates rounded, times
// ISO, and an infinite ratio (traffic after a silent baseline) as null, which JSON can carry.

import type { BurstView, PastBurst } from '../observe/insight/burst-detector.js';

function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export type BurstJson = ReturnType<typeof burstJson>;

export function burstJson(v: BurstView) {
  return {
    tenant: v.tenant,
    flagged: v.flagged,
    warm: v.warm,
    rate: round(v.rate),
    baseline: round(v.baseline),
    ratio: Number.isFinite(v.ratio) ? round(v.ratio) : null,
    since: v.sinceMs === undefined ? null : isoTime(v.sinceMs),
    peak_rate: v.flagged ? round(v.peakRate) : null,
    history_seconds: round(v.historyMs / 1000),
  };
}

export function pastBurstJson(b: PastBurst) {
  return {
    tenant: b.tenant,
    start: isoTime(b.startMs),
    end: isoTime(b.endMs),
    duration_seconds: round((b.endMs - b.startMs) / 1000),
    peak_rate: round(b.peakRate),
    baseline: round(b.baseline),
  };
}
