// Where every decision goes once it is made: the rls_* metrics, the per-tenant counters, the time-series stats
// of the admin API, and one log line per denial (sampled by LOG_DENIALS). The write pipeline, the headers-only
// check and the early refusals all record through here, so a decision is counted the same way whatever path
// produced it.

import type { Decision } from '../decision/decision.js';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';
import { NO_TENANT } from '../observe/metrics.js';
import type { DecisionAggregator } from '../observe/stats/decision-aggregator.js';
import type { TrafficStats } from '../observe/traffic-stats.js';
import { countRequest } from '../observe/traffic-stats.js';
import type { RequestInfo } from '../remote-write/index.js';
import { ingestionCost } from '../remote-write/index.js';
import type { DenialLogMode } from '../settings/settings.js';
import { DenialLogGate, SUPPRESS } from './denial-log-gate.js';
import type { Transport } from './write-request.js';

export interface RecorderDeps {
  stats: TrafficStats;
  metrics: EdgeMetrics;
  log: Logger;
  now: () => number;
  logDenials: { mode: DenialLogMode; intervalMs: number };
  /** Time-based aggregation for the admin API; fed once per decision. */
  aggregator?: DecisionAggregator | undefined;
}

export class DecisionRecorder {
  /** Which denials, and which would-be denials, get a log line (LOG_DENIALS). */
  private readonly denialLog: DenialLogGate;
  private readonly wouldDenyLog: DenialLogGate;

  constructor(private readonly deps: RecorderDeps) {
    const { mode, intervalMs } = deps.logDenials;
    this.denialLog = new DenialLogGate(mode, intervalMs);
    this.wouldDenyLog = new DenialLogGate(mode, intervalMs);
  }

  /**
   * Forgets quiet tenants' denial log state; run by the service's sweep. Denials left out of the log since a
   * tenant's last line are logged here as one count, so a flood that stopped still shows.
   */
  sweep(nowMs: number): void {
    const log = this.deps.log;
    const report = (decision: 'deny' | 'would_deny') => (tenant: string, reason: string, count: number) =>
      log.info(
        { tenant, decision, reason, suppressed: count },
        `${count} more ${decision === 'deny' ? 'denials' : 'would-be denials'} for ${reason} were not logged (LOG_DENIALS=sampled)`,
      );
    this.denialLog.sweep(nowMs, report('deny'));
    this.wouldDenyLog.sweep(nowMs, report('would_deny'));
  }

  /** Records a checked write's decision with the time it took since `started` (performance.now()). */
  finish(
    tenant: string,
    decision: Decision,
    info: RequestInfo | undefined,
    requestId: string,
    transport: Transport,
    started: number,
  ): Decision {
    const elapsedMs = performance.now() - started;
    this.deps.metrics.checkDuration.labels(transport).observe(elapsedMs / 1000);
    this.record(tenant, decision, info, requestId, elapsedMs * 1000);
    return decision;
  }

  /** Counts a write forwarded unmeasured because its mode is off; nothing else is recorded for it. */
  unchecked(tenant: string | undefined): void {
    const name = tenant === undefined ? NO_TENANT : this.deps.stats.trackedName(tenant);
    this.deps.metrics.unchecked.labels(name).inc();
  }

  /** Records a denial made before the body was measured (no tenant, bad tenant, too large to read). */
  early(tenant: string | undefined, decision: Decision, requestId: string, remote: string | undefined): void {
    if (tenant !== undefined) {
      this.record(tenant, decision, undefined, requestId);
      return;
    }
    const { metrics, stats, log } = this.deps;
    metrics.recordDenied(NO_TENANT, decision.reason, 0);
    stats.total.requests++;
    stats.total.denied++;
    const nowMs = this.deps.now();
    this.deps.aggregator?.record(undefined, nowMs, decision, undefined, 0);
    const suppressed = this.denialLog.admit(NO_TENANT, decision.reason, nowMs);
    if (suppressed === SUPPRESS) return;
    log.info(
      {
        request_id: requestId,
        decision: 'deny',
        reason: decision.reason,
        status: decision.status,
        remote,
        ...(suppressed > 0 ? { suppressed } : {}),
      },
      decision.message,
    );
  }

  /** Records one decision for a known tenant: counters, stats, metrics, and a log line for a denial. */
  record(
    tenant: string,
    decision: Decision,
    info: RequestInfo | undefined,
    requestId: string,
    latencyUs = 0,
  ): void {
    const { stats, metrics, log } = this.deps;
    const nowMs = this.deps.now();
    const name = stats.trackedName(tenant);
    this.deps.aggregator?.record(name, nowMs, decision, info, latencyUs);
    const samples = info ? ingestionCost(info) : 0;
    countRequest(
      stats,
      stats.counters(name, nowMs),
      nowMs,
      decision,
      samples,
      info?.series ?? 0,
      info?.bytesCompressed ?? 0,
      info?.bytesUncompressed ?? 0,
    );
    if (decision.allowed) {
      metrics.recordAllowed(name, samples);
      if (decision.wouldDeny) {
        metrics.wouldDeny.labels(name, decision.reason).inc();
        const suppressed = this.wouldDenyLog.admit(name, decision.reason, nowMs);
        if (suppressed === SUPPRESS) return;
        log.info(
          {
            request_id: requestId,
            tenant,
            decision: 'would_deny',
            reason: decision.reason,
            observed: decision.observed,
            limit: decision.limit,
            ...(suppressed > 0 ? { suppressed } : {}),
          },
          'limit exceeded but not enforced; forwarded',
        );
      }
      return;
    }
    metrics.recordDenied(name, decision.reason, samples);
    // Keyed by the bounded tracked name, so the log gate's state is bounded as the metric labels are.
    const suppressed = this.denialLog.admit(name, decision.reason, nowMs);
    if (suppressed === SUPPRESS) return;
    log.info(
      {
        request_id: requestId,
        tenant,
        decision: 'deny',
        reason: decision.reason,
        status: decision.status,
        observed: decision.observed,
        limit: decision.limit,
        error_id: decision.errorId,
        ...(suppressed > 0 ? { suppressed } : {}),
      },
      decision.message,
    );
  }
}
