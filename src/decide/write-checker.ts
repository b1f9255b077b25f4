// The transport-neutral check of one write request: identify the tenant, measure the body, decide, and
// record the outcome (metrics, stats, one log line per denial). The HTTP proxy and every later transport
// (ext_authz, authz endpoint) call this, so one tenant's limits hold across all entry points.

import type { Settings } from '../settings/settings.js';
import type { Decision } from '../decision/decision.js';
import { basicAuthUser, tenantIdProblem } from '../lib/identify/tenant-id.js';
import { durationMs } from '../limits/limit-definitions.js';
import type { LimitsRegistry } from '../limits/limits-registry.js';
import type { ResolvedTenant } from '../limits/tenant-limits.js';
import { isEnforced } from '../limits/tenant-limits.js';
import {
  BodyDecodeError,
  firstSeriesLabels,
  ingestionCost,
  isUnsupportedMediaType,
  measureBody,
  selectDecoder,
} from '../remote-write/index.js';
import type { MeasuredBody, RequestInfo } from '../remote-write/index.js';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';
import { NO_TENANT } from '../observe/metrics.js';
import { DenialLogGate, SUPPRESS } from './denial-log-gate.js';
import type { TrafficStats } from '../observe/traffic-stats.js';
import { countRequest } from '../observe/traffic-stats.js';
import type { RateAnswer, RateQuery, RateStore } from '../stores/rate-store.js';
import type { DecisionAggregator } from '../observe/stats/decision-aggregator.js';
import type { EnforcementMode, ModeSwitch } from './enforcement-mode.js';
import { ALLOWED, checkStatic, decideRates, denial, rateQuery } from './enforcer.js';
import type { HaElection, HaQuestion, HaVerdict } from './ha-tracker.js';
import { HaTracker } from './ha-tracker.js';
import { mimirCost, mimirView, withPartial } from './mimir-rules.js';
import type { SelectivePlan } from './selective-filter.js';
import { SelectiveFilter, selectiveApplies } from './selective-filter.js';
import {
  bodyTooLargeMessage,
  haDeduplicatedMessage,
  haTooManyClustersMessage,
  invalidBodyMessage,
  invalidTenantMessage,
  missingTenantMessage,
} from '../decision/catalogue.js';

export type Transport = 'http' | 'ext_authz' | 'authz';

/** Index of `true` in accept_ha_samples' values. */
const HA_ON = 1;

/** ha_tracker_failover_timeout in milliseconds; the texts in use are few, so each is parsed once. */
const failoverCache = new Map<string, number>();
function failoverMs(text: string): number {
  let ms = failoverCache.get(text);
  if (ms === undefined) {
    ms = durationMs(text) ?? 30_000;
    if (failoverCache.size > 1000) failoverCache.clear();
    failoverCache.set(text, ms);
  }
  return ms;
}

export interface WriteCheckerDeps {
  settings: Settings;
  limits: LimitsRegistry;
  store: RateStore;
  stats: TrafficStats;
  metrics: EdgeMetrics;
  log: Logger;
  now: () => number;
  /** Time-based aggregation for the admin API; fed once per decision. */
  aggregator?: DecisionAggregator;
  /** The runtime enforce / dry-run / off switch; without it, DRY_RUN decides. */
  mode?: ModeSwitch;
  /** Where HA elections are kept (shared through Redis when configured); in process when absent. */
  ha?: HaElection;
}

export interface Identity {
  tenant: string;
  /** True when the tenant came from the basic-auth user: the upstream must then get the tenant header. */
  fromBasicAuth: boolean;
}

export function isDecision(value: Identity | Decision): value is Decision {
  return (value as Decision).reason !== undefined;
}

export class WriteChecker {
  private readonly ha: HaElection;
  /** What selective filtering delivered of requests still being retried, per replica. */
  private readonly selective = new SelectiveFilter();
  /** Which denials, and which would-be denials, get a log line (LOG_DENIALS). */
  private readonly denialLog: DenialLogGate;
  private readonly wouldDenyLog: DenialLogGate;

  constructor(private readonly deps: WriteCheckerDeps) {
    this.ha = deps.ha ?? new HaTracker();
    const { mode, intervalMs } = deps.settings.logDenials;
    this.denialLog = new DenialLogGate(mode, intervalMs);
    this.wouldDenyLog = new DenialLogGate(mode, intervalMs);
  }

  /**
   * Forgets state that outlived its use (part-delivered requests nobody retried, quiet tenants' denial log
   * state); run by the service's sweep. Denials left out of the log since a tenant's last line are logged
   * here as one count, so a flood that stopped still shows.
   */
  sweep(nowMs: number): void {
    this.selective.delivered.sweep(nowMs);
    const log = this.deps.log;
    const report = (decision: 'deny' | 'would_deny') => (tenant: string, reason: string, count: number) =>
      log.info(
        { tenant, decision, reason, suppressed: count },
        `${count} more ${decision === 'deny' ? 'denials' : 'would-be denials'} for ${reason} were not logged (LOG_DENIALS=sampled)`,
      );
    this.denialLog.sweep(nowMs, report('deny'));
    this.wouldDenyLog.sweep(nowMs, report('would_deny'));
  }

  /** The tenant named by the request, or the denial for a missing or invalid one. */
  identify(
    tenantHeader: string | string[] | undefined,
    authorization: string | undefined,
  ): Identity | Decision {
    const { settings } = this.deps;
    let tenant = Array.isArray(tenantHeader) ? tenantHeader.join(',') : tenantHeader;
    let fromBasicAuth = false;
    if ((tenant === undefined || tenant === '') && settings.tenantFromBasicAuth) {
      tenant = basicAuthUser(authorization);
      fromBasicAuth = tenant !== undefined;
    }
    if (tenant === undefined || tenant === '') {
      return denial(
        'missing_tenant',
        missingTenantMessage(settings.tenantHeaderName, settings.tenantFromBasicAuth),
        0,
        0,
      );
    }
    const problem = tenantIdProblem(tenant);
    if (problem) return denial('invalid_tenant', invalidTenantMessage(problem), 0, 0);
    return { tenant, fromBasicAuth };
  }

  /** The mode `tenant`'s writes get now (undefined: before the tenant is known). */
  modeOf(tenant: string | undefined): EnforcementMode {
    const mode = this.deps.mode;
    if (mode) return mode.effective(tenant);
    return this.deps.settings.dryRun ? 'dry-run' : 'enforce';
  }

  /** Counts a write forwarded unmeasured because its mode is off; nothing else is recorded for it. */
  passUnchecked(tenant: string | undefined): Decision {
    const name = tenant === undefined ? NO_TENANT : this.deps.stats.trackedName(tenant);
    this.deps.metrics.unchecked.labels(name).inc();
    if (this.deps.mode) this.deps.mode.uncheckedRequests++;
    return ALLOWED;
  }

  /** A denial for a body whose declared or received size is over MAX_REQUEST_BYTES, else undefined. */
  overRequestCap(bytes: number): Decision | undefined {
    const cap = this.deps.settings.maxRequestBytes;
    return bytes > cap ? denial('body_too_large', bodyTooLargeMessage(bytes, cap), cap, bytes) : undefined;
  }

  /**
   * A 415 for a body the edge cannot read (unknown `proto=`, Content-Type or Content-Encoding), else undefined.
   * `path` picks OTLP (`…/v1/metrics`) or remote write; see src/remote-write/format.ts.
   */
  unsupportedFormat(
    contentType: string | undefined,
    contentEncoding: string | undefined,
    path?: string,
  ): Decision | undefined {
    const selected = selectDecoder(path, contentType, contentEncoding);
    if (!isUnsupportedMediaType(selected)) return undefined;
    return { ...denial('invalid_body', selected.unsupported, 0, 0), status: 415 };
  }

  /**
   * Measures `body` and decides it against the tenant's limits; records the outcome. Synchronous with the
   * in-process store; a Promise only when the store is shared (Redis).
   * `started` (performance.now() when the request arrived) feeds rls_authz_check_duration_seconds.
   */
  check(
    tenant: string,
    body: Buffer,
    contentType: string | undefined,
    contentEncoding: string | undefined,
    requestId: string,
    transport: Transport,
    started: number,
    path?: string,
  ): Decision | Promise<Decision> {
    const { settings, metrics, limits } = this.deps;
    const mode = this.modeOf(tenant);
    if (mode === 'off') return this.passUnchecked(tenant);
    const dryRun = mode === 'dry-run';
    const selected = selectDecoder(path, contentType, contentEncoding);
    if (isUnsupportedMediaType(selected)) {
      const unsupported = { ...denial('invalid_body', selected.unsupported, 0, 0), status: 415 };
      this.record(tenant, unsupported, undefined, requestId);
      return unsupported;
    }

    let measured: MeasuredBody;
    const parseStarted = performance.now();
    try {
      measured = measureBody(selected, body, settings.maxRequestBytes);
    } catch (err) {
      if (!(err instanceof BodyDecodeError)) throw err;
      metrics.parseErrors.labels(err.code).inc();
      const cap = settings.maxRequestBytes;
      // A gzip stream cut off at the bound has no declared size: it is at least one byte over.
      const size = err.declaredBytes >= 0 ? err.declaredBytes : cap + 1;
      const d =
        err.code === 'decompressed_too_large'
          ? denial('body_too_large', bodyTooLargeMessage(size, cap), cap, size)
          : denial('invalid_body', invalidBodyMessage(err.message), 0, 0);
      this.record(tenant, d, undefined, requestId);
      return d;
    }
    metrics.parseDuration.labels(measured.info.format).observe((performance.now() - parseStarted) / 1000);

    const resolved = limits.forTenant(tenant);
    const l = resolved.limits;
    if (l.accept_ha_samples === HA_ON) {
      // Mimir's HA tracker: the cluster and replica labels of the first series pick the pair (findHALabels).
      const format = measured.info.format;
      const pair = firstSeriesLabels(measured.decoded, format, l.ha_cluster_label, l.ha_replica_label);
      // A request without both labels is not from an HA pair: it passes as any other.
      if (pair && pair.first !== '' && pair.second !== '') {
        const question: HaQuestion = {
          tenant,
          cluster: pair.first,
          replica: pair.second,
          nowMs: this.deps.now(),
          failoverTimeoutMs: failoverMs(l.ha_tracker_failover_timeout),
          maxClusters: l.ha_max_clusters,
        };
        const verdict = this.ha.elect(question);
        const after = (v: HaVerdict): Decision | Promise<Decision> =>
          this.afterHa(v, question, resolved, measured, dryRun, requestId, transport, started);
        if (verdict instanceof Promise) {
          return verdict.then(after, (err: unknown) =>
            this.finish(
              tenant,
              this.failed(err, tenant, requestId),
              measured.info,
              requestId,
              transport,
              started,
            ),
          );
        }
        return after(verdict);
      }
    }
    return this.decideMeasured(tenant, resolved, measured, dryRun, undefined, requestId, transport, started);
  }

  /**
   * Acts on the HA tracker's verdict: the elected replica's write is decided like any other, without its replica
   * label (Mimir removes it before validating); another replica's gets 202 and is neither forwarded nor charged to
   * ingestion_rate (Mimir's request-rate limit runs before its HA dedupe, so request_rate is charged); one cluster
   * too many gets Mimir's 400. A verdict whose limit is only observed is counted and the write decided as usual.
   */
  private afterHa(
    verdict: HaVerdict,
    question: HaQuestion,
    resolved: ResolvedTenant,
    measured: MeasuredBody,
    dryRun: boolean,
    requestId: string,
    transport: Transport,
    started: number,
  ): Decision | Promise<Decision> {
    const { tenant } = question;
    const haMetric = this.deps.metrics.haDecisions;
    // Decided like any write; the elected replica's without its replica label, which Mimir removes first.
    const asUsual = (replicaLabel: string | undefined): Decision | Promise<Decision> =>
      this.decideMeasured(tenant, resolved, measured, dryRun, replicaLabel, requestId, transport, started);
    if (verdict.kind === 'accept') {
      haMetric.labels(verdict.failover ? 'failover' : verdict.newCluster ? 'elected' : 'accepted').inc();
      if (verdict.failover)
        this.deps.log.info(
          { request_id: requestId, tenant, cluster: question.cluster, elected: verdict.elected },
          'HA failover: the elected replica was silent for the failover timeout',
        );
      return asUsual(resolved.limits.ha_replica_label);
    }
    if (verdict.kind === 'too_many_clusters') {
      haMetric.labels('too_many_clusters').inc();
      const d = denial(
        'ha_too_many_clusters',
        haTooManyClustersMessage(verdict.limit),
        verdict.limit,
        verdict.limit + 1,
      );
      if (isEnforced(resolved.enforcement, 'ha_max_clusters', dryRun))
        return this.finish(tenant, d, measured.info, requestId, transport, started);
      return asUsual(undefined);
    }
    if (!isEnforced(resolved.enforcement, 'accept_ha_samples', dryRun)) {
      haMetric.labels('deduplicated_observed').inc();
      return asUsual(undefined);
    }
    haMetric.labels('deduplicated').inc();
    const deduplicated = denial(
      'ha_deduplicated',
      haDeduplicatedMessage(question.replica, verdict.elected),
      0,
      0,
    );
    const query = rateQuery(resolved, 0, dryRun);
    const info = measured.info;
    const decide = (a: RateAnswer): Decision => {
      const rates = decideRates(resolved, query, a, dryRun, undefined);
      return this.finish(tenant, rates.allowed ? deduplicated : rates, info, requestId, transport, started);
    };
    return this.takeThen(tenant, query, info, requestId, transport, started, decide);
  }

  /** Mimir's per-series rules, the static limits and the buckets, for a measured write. */
  private decideMeasured(
    tenant: string,
    resolved: ResolvedTenant,
    measured: MeasuredBody,
    dryRun: boolean,
    haReplicaLabel: string | undefined,
    requestId: string,
    transport: Transport,
    started: number,
  ): Decision | Promise<Decision> {
    const { decoded, describeSeries } = measured;
    // Mimir's per-series rules (src/decide/mimir-rules.ts): undefined in the common case, where every series is
    // valid; else the part Mimir would ingest, and the 400 owed for the rest.
    const view = mimirView(resolved, measured, dryRun, haReplicaLabel);
    if (view?.refusal) return this.finish(tenant, view.refusal, measured.info, requestId, transport, started);
    // Selective filtering needs a body it can replace, so only the proxy offers it, and only for a request
    // Mimir's per-series rules left whole (src/decide/selective-filter.ts). A retry of a request it delivered in
    // part is decided as its rest.
    const selective = view === undefined && transport === 'http' && selectiveApplies(resolved, measured);
    const resumed = selective
      ? this.selective.resume(tenant, resolved, measured, this.deps.now())
      : undefined;
    const info = resumed ? resumed.rest.info : view ? view.info : measured.info;
    const staticResult = checkStatic({
      tenant: resolved,
      info,
      dryRun,
      body: decoded,
      describeSeries: view?.describeSeries ?? describeSeries,
    });
    if (staticResult && !staticResult.allowed)
      return this.finish(tenant, staticResult, info, requestId, transport, started);
    const query = rateQuery(resolved, mimirCost(info, resolved.limits), dryRun);
    const conclude = (a: RateAnswer): Decision | Promise<Decision> => {
      const decided = withPartial(decideRates(resolved, query, a, dryRun, staticResult), view);
      if (!selective) return this.finish(tenant, decided, info, requestId, transport, started);
      if (decided.allowed) {
        const d = resumed ? this.selective.completing(resumed, measured, decided) : decided;
        return this.finish(tenant, d, info, requestId, transport, started);
      }
      const plan = this.selective.plan(resolved, measured, query, a, decided, resumed);
      if (!plan) return this.finish(tenant, decided, info, requestId, transport, started);
      return this.takePart(tenant, plan, measured, info, query, decided, requestId, transport, started);
    };
    return this.takeThen(tenant, query, info, requestId, transport, started, conclude);
  }

  /**
   * Selective filtering's second take: the part that fits, forwarded with a 429 for the rest, or the whole 429.
   * `info` is the request as it was decided (its rest, for a retry), recorded when no part goes.
   */
  private takePart(
    tenant: string,
    plan: SelectivePlan,
    measured: MeasuredBody,
    info: RequestInfo,
    query: RateQuery,
    whole: Decision,
    requestId: string,
    transport: Transport,
    started: number,
  ): Decision | Promise<Decision> {
    const conclude = (a: RateAnswer): Decision => {
      const d = this.selective.decision(tenant, plan, measured, query, a, whole, this.deps.now);
      if (!d.partial) {
        this.deps.metrics.selectiveFilter.labels('tokens_gone').inc();
        return this.finish(tenant, d, info, requestId, transport, started);
      }
      this.deps.metrics.selectiveFilter.labels('part_forwarded').inc();
      this.deps.log.info(
        {
          request_id: requestId,
          tenant,
          reason: 'ingestion_rate',
          forwarded_series: plan.info.series,
          delivered_series: plan.skip + plan.info.series,
          series: measured.info.series,
          forwarded_items: plan.cost,
          observed: query.cost,
        },
        'selective filtering: forwarding the series that fit, 429 for the rest',
      );
      return this.finish(tenant, d, plan.info, requestId, transport, started);
    };
    return this.takeThen(tenant, plan.query, info, requestId, transport, started, conclude);
  }

  /**
   * Takes `query` from the store and hands the answer to `conclude`, synchronously when the store answers so; a
   * store that throws or rejects is not a verdict on the request (FAILURE_MODE_ALLOW decides, see failed()).
   */
  private takeThen(
    tenant: string,
    query: RateQuery,
    info: RequestInfo,
    requestId: string,
    transport: Transport,
    started: number,
    conclude: (a: RateAnswer) => Decision | Promise<Decision>,
  ): Decision | Promise<Decision> {
    let answer: RateAnswer | Promise<RateAnswer>;
    try {
      answer = this.deps.store.take(tenant, query, this.deps.now());
    } catch (err) {
      return this.finish(tenant, this.failed(err, tenant, requestId), info, requestId, transport, started);
    }
    if (answer instanceof Promise) {
      return answer.then(conclude, (err: unknown) =>
        this.finish(tenant, this.failed(err, tenant, requestId), info, requestId, transport, started),
      );
    }
    return conclude(answer);
  }

  private finish(
    tenant: string,
    decision: Decision,
    info: RequestInfo,
    requestId: string,
    transport: Transport,
    started: number,
  ): Decision {
    const elapsedMs = performance.now() - started;
    this.deps.metrics.checkDuration.labels(transport).observe(elapsedMs / 1000);
    this.record(tenant, decision, info, requestId, elapsedMs * 1000);
    return decision;
  }

  /** For a transport that caught an unexpected exception around check(): logs it and answers like a store failure. */
  internalError(err: unknown, tenant: string, requestId: string): Decision {
    return this.failed(err, tenant, requestId);
  }

  /** A store failure or a bug is not a verdict on the request: FAILURE_MODE_ALLOW decides what the client gets. */
  private failed(err: unknown, tenant: string, requestId: string): Decision {
    this.deps.log.error({ request_id: requestId, tenant, err: (err as Error).message }, 'enforcement failed');
    return this.deps.settings.failureModeAllow ? ALLOWED : INTERNAL_ERROR;
  }

  /**
   * Decides a write known only by its headers (the HTTP authz endpoint, a body Envoy truncated): the declared
   * size against MAX_REQUEST_BYTES and max_body_bytes, then request_rate. ingestion_rate needs the body and is
   * not charged. `declaredBytes` < 0: size unknown. Records the outcome like check().
   */
  checkHeaders(
    tenant: string,
    declaredBytes: number,
    requestId: string,
    transport: Transport,
    started: number,
  ): Decision | Promise<Decision> {
    const { limits, store } = this.deps;
    const mode = this.modeOf(tenant);
    if (mode === 'off') return this.passUnchecked(tenant);
    const dryRun = mode === 'dry-run';
    const done = (d: Decision): Decision => {
      const elapsedMs = performance.now() - started;
      this.deps.metrics.checkDuration.labels(transport).observe(elapsedMs / 1000);
      this.record(tenant, d, undefined, requestId, elapsedMs * 1000);
      return d;
    };
    const capped = this.overRequestCap(declaredBytes);
    if (capped) return done(capped);
    const resolved = limits.forTenant(tenant);
    const maxBody = resolved.limits.max_body_bytes;
    let observed: Decision | undefined;
    if (maxBody > 0 && declaredBytes > maxBody) {
      const d = denial('body_too_large', bodyTooLargeMessage(declaredBytes, maxBody), maxBody, declaredBytes);
      if (isEnforced(resolved.enforcement, 'max_body_bytes', dryRun)) return done(d);
      observed = { ...d, allowed: true, status: 200, wouldDeny: true };
    }
    const query = rateQuery(resolved, 0, dryRun);
    let answer: RateAnswer | Promise<RateAnswer>;
    try {
      answer = store.take(tenant, query, this.deps.now());
    } catch (err) {
      return done(this.failed(err, tenant, requestId));
    }
    if (answer instanceof Promise) {
      return answer.then(
        (a) => done(decideRates(resolved, query, a, dryRun, observed)),
        (err: unknown) => done(this.failed(err, tenant, requestId)),
      );
    }
    return done(decideRates(resolved, query, answer, dryRun, observed));
  }

  /** Records a denial made before the body was measured (no tenant, bad tenant, too large to read). */
  rejectEarly(
    tenant: string | undefined,
    decision: Decision,
    requestId: string,
    remote: string | undefined,
  ): void {
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

  private record(
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

/** What a request gets when enforcement itself failed and FAILURE_MODE_ALLOW is off: retriable, never a 4xx. */
const INTERNAL_ERROR: Decision = Object.freeze({
  allowed: false,
  reason: 'internal_error',
  status: 500,
  retryAfterSeconds: 1,
  errorId: 'err-mimir-edge-internal',
  message: 'enforcement failed; retry later (err-mimir-edge-internal).',
  limit: 0,
  observed: 0,
  wouldDeny: false,
});
