// Adaptive protection of the upstream (docs/protection.md): the ceiling C on writes in flight (CeilingController),
// the mode it runs in, and the admission of each write by its tenant's edge_priority p. Writes of priority p and
// above may fill share(p) of C, from L = ADAPTIVE_LOWEST_PRIORITY_PERCENT at 0 to all of it at 10, so as writes
// pile up the lowest priorities are refused first. Writes of lower priorities already in flight are not
// recalled when C comes down, so they may hold a higher priority back only past an allowance of L × C: a write
// of priority p also needs all writes in flight under (share(p) + L) × C. In flight never exceeds (1 + L) × C.
//
// The hot path calls admit() and release(): counter compares and increments, no await, no allocation. Upstream
// answers come in through answered(); a timer calls tick() to close windows. Nothing here reads a clock.

import { EDGE_PRIORITY_MAX } from '../../limits/limit-definitions.js';
import type { AdaptiveSettings } from '../../settings/settings.js';
import type { AdaptiveReport } from '../../observe/adaptive-metrics.js';
import { CEILING_REASONS, CeilingController } from './ceiling-controller.js';
import type { CeilingStep, UpstreamRoute } from './ceiling-controller.js';

export type ProtectionMode = AdaptiveSettings['mode'];
export const PROTECTION_MODES: readonly ProtectionMode[] = ['off', 'observe', 'enforce'];

export function parseProtectionMode(value: unknown): ProtectionMode | undefined {
  return PROTECTION_MODES.find((m) => m === value);
}

/**
 * What admit() answers: `counted` holds a place in flight until release(); `uncounted` (mode off) holds none;
 * `shed` is refused (enforce) and holds none. In observe mode a write that would be shed is `counted` like any.
 */
export type Admission = 'counted' | 'uncounted' | 'shed';

const PRIORITIES = EDGE_PRIORITY_MAX + 1;

/** A priority as an index 0..10 (a limit holds a whole number in range; this guards the arrays anyway). */
export function clampPriority(priority: number): number {
  return priority <= 0 ? 0 : priority >= EDGE_PRIORITY_MAX ? EDGE_PRIORITY_MAX : Math.floor(priority);
}

export class UpstreamProtection {
  private current: ProtectionMode;
  readonly controller: CeilingController;
  /** Writes admitted (and counted) that have not finished. */
  inflight = 0;
  /** The same, by priority. */
  private readonly inflightBy = new Float64Array(PRIORITIES);
  /** One release per priority, made once: the hot path hands one to `res.once('close', ...)` as is. */
  readonly releaseFor: readonly (() => void)[];
  /** Writes refused, by priority (enforce). */
  readonly shed = new Float64Array(PRIORITIES);
  /** Writes that would have been refused, by priority (observe). */
  readonly wouldShed = new Float64Array(PRIORITIES);
  /** Ceiling moves by direction and reason, since start. */
  readonly changes = new Map<string, number>();
  /** When the mode last changed, in ms. */
  modeChangedAtMs: number;
  /** Items forwarded in the current and the previous second (the samples/s ceiling). */
  private itemsNow = 0;
  private itemsPrev = 0;
  private secondStartMs: number;

  constructor(
    readonly settings: AdaptiveSettings,
    nowMs: number,
  ) {
    this.current = settings.mode;
    this.modeChangedAtMs = nowMs;
    this.releaseFor = Array.from({ length: PRIORITIES }, (_, p) => () => {
      if (this.inflightBy[p]! > 0) {
        this.inflightBy[p]!--;
        this.inflight--;
      }
    });
    this.secondStartMs = nowMs;
    this.controller = new CeilingController(
      {
        minCeiling: settings.minCeiling,
        maxCeiling: settings.maxCeiling,
        latencyTargetMs: settings.latencyTargetMs,
        errorRatio: settings.errorPercent / 100,
        backoff: settings.backoffPercent / 100,
        increase: settings.increase,
        windowMs: settings.windowMs,
      },
      nowMs,
    );
  }

  get mode(): ProtectionMode {
    return this.current;
  }

  /** Switches the mode; leaving off starts from the maximum again, since nothing was watched meanwhile. */
  setMode(mode: ProtectionMode, nowMs: number): void {
    if (mode === this.current) return;
    if (this.current === 'off') this.controller.reset(nowMs);
    this.current = mode;
    this.modeChangedAtMs = nowMs;
  }

  /** The ceiling now (the maximum while off). */
  get ceiling(): number {
    return this.current === 'off' ? this.settings.maxCeiling : this.controller.ceiling;
  }

  /** The share of the ceiling writes of `priority` may fill, (0, 1]. */
  share(priority: number): number {
    const p = clampPriority(priority);
    const low = this.settings.lowestPriorityPercent / 100;
    return low + ((1 - low) * p) / EDGE_PRIORITY_MAX;
  }

  /** How many writes of `priority` and above may be in flight when one of `priority` arrives (at least 1). */
  admittedBelow(priority: number): number {
    return Math.max(1, Math.floor(this.ceiling * this.share(priority)));
  }

  /** How many writes of any priority may be in flight when one of `priority` arrives (at least 1). */
  totalBelow(priority: number): number {
    const low = this.settings.lowestPriorityPercent / 100;
    return Math.max(1, Math.floor(this.ceiling * (this.share(priority) + low)));
  }

  /** The items/s ceiling now, 0 when there is none. */
  get samplesCeiling(): number {
    const max = this.settings.maxSamplesPerSecond;
    if (max === 0) return 0;
    return this.current === 'off' ? max : Math.max(1, Math.floor(max * this.controller.ratio));
  }

  /** Items per second forwarded, estimated over the last second (sliding between two one-second counts). */
  samplesRate(nowMs: number): number {
    this.rollSecond(nowMs);
    const into = (nowMs - this.secondStartMs) / 1000;
    return this.itemsNow + this.itemsPrev * (1 - into);
  }

  /** Writes in flight of `priority` and above: what a write of `priority` is held to. */
  inflightFrom(priority: number): number {
    let n = 0;
    for (let q = clampPriority(priority); q < PRIORITIES; q++) n += this.inflightBy[q]!;
    return n;
  }

  /**
   * The hot path's check, before a write goes upstream: at most 11 adds and a few compares. A `counted` admission
   * must be given back once, with releaseFor[clampPriority(priority)].
   */
  admit(priority: number, nowMs: number): Admission {
    if (this.current === 'off') return 'uncounted';
    const p = clampPriority(priority);
    let over = this.inflightFrom(p) >= this.admittedBelow(p) || this.inflight >= this.totalBelow(p);
    if (!over && this.settings.maxSamplesPerSecond > 0)
      over = this.samplesRate(nowMs) >= this.samplesCeiling * this.share(p);
    if (over) {
      if (this.current === 'enforce') {
        this.shed[p]!++;
        return 'shed';
      }
      this.wouldShed[p]!++;
    }
    this.inflightBy[p]!++;
    this.inflight++;
    return 'counted';
  }

  /** Items a forwarded write carried, for the samples/s ceiling. */
  forwarded(items: number, nowMs: number): void {
    if (this.current === 'off' || this.settings.maxSamplesPerSecond === 0) return;
    this.rollSecond(nowMs);
    this.itemsNow += items;
  }

  /** One upstream answer (status 0: none came); ignored while off. */
  answered(route: UpstreamRoute, ms: number, status: number): void {
    if (this.current === 'off') return;
    this.controller.record(route, ms, status);
  }

  /** Closes the window once it is over and moves the ceiling; undefined while off or mid-window. */
  tick(nowMs: number): CeilingStep | undefined {
    if (this.current === 'off') return undefined;
    const step = this.controller.tick(nowMs, this.inflight);
    if (step && step.direction !== 'hold') {
      const key = `${step.direction}:${step.reason}`;
      this.changes.set(key, (this.changes.get(key) ?? 0) + 1);
    }
    return step;
  }

  /** Everything /metrics and the admin API show, read on request. */
  report(nowMs: number): AdaptiveReport {
    const c = this.controller;
    return {
      mode: this.current,
      ceiling: this.ceiling,
      minCeiling: this.settings.minCeiling,
      maxCeiling: this.settings.maxCeiling,
      inflight: this.inflight,
      samplesCeiling: this.samplesCeiling,
      samplesRate: this.settings.maxSamplesPerSecond > 0 ? this.samplesRate(nowMs) : 0,
      lastReason: c.lastReason,
      reasons: CEILING_REASONS,
      routes: c.last,
      shed: this.shed,
      wouldShed: this.wouldShed,
      changes: this.changes,
    };
  }

  private rollSecond(nowMs: number): void {
    const elapsed = nowMs - this.secondStartMs;
    if (elapsed < 1000) return;
    this.itemsPrev = elapsed < 2000 ? this.itemsNow : 0;
    this.itemsNow = 0;
    this.secondStartMs = nowMs - (elapsed % 1000);
  }
}
