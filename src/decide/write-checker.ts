// The transport-neutral check of one write request: identify the tenant, measure the body, run the write
// pipeline (src/decide/write-pipeline.ts), and record the outcome (src/decide/decision-recorder.ts). The HTTP proxy,
// ext_authz and the authz endpoint all call this, so one tenant's limits hold across all entry points.

import type { Decision } from '../decision/decision.js';
import {
  ALLOWED,
  INTERNAL_ERROR,
  bodyTooLargeMessage,
  denial,
  invalidBodyMessage,
  invalidTenantMessage,
  missingTenantMessage,
  tenantMismatchMessage,
} from '../decision/catalogue.js';
import { basicAuthUser, tenantIdProblem } from '../lib/identify/tenant-id.js';
import type { LimitsRegistry } from '../limits/limits-registry.js';
import type { ResolvedTenant } from '../limits/tenant-limits.js';
import { isEnforced } from '../limits/tenant-limits.js';
import { limitIs } from '../limits/limit-definitions.js';
import type { ActiveSeriesTracker } from '../observe/active-series/tracker.js';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';
import type { DecisionAggregator } from '../observe/stats/decision-aggregator.js';
import type { TrafficStats } from '../observe/traffic-stats.js';
import {
  BodyDecodeError,
  ingestionCost,
  isUnsupportedMediaType,
  measureBody,
  selectDecoder,
} from '../remote-write/index.js';
import type { BodyDecoder, MeasuredBody } from '../remote-write/index.js';
import type { Settings } from '../settings/settings.js';
import type { RateStore } from '../stores/rate-store.js';
import { DecisionRecorder } from './decision-recorder.js';
import type { EnforcementMode, ModeSwitch } from './enforcement-mode.js';
import type { HaElection } from './ha-tracker.js';
import { HaTracker } from './ha-tracker.js';
import { SelectiveFilter } from './selective-filter.js';
import { decideRates, rateQuery } from './stages/rates.js';
import { takeRequest } from './stages/request-rate.js';
import { WRITE_STAGES, runStages } from './write-pipeline.js';
import type { UpstreamProtection } from './adaptive/upstream-protection.js';
import type { HeadersOnlyWrite, StageDeps, WriteRequest, WriteState } from './write-request.js';

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
  /** Adaptive protection of the upstream: told the items of every write allowed (its samples/s ceiling). */
  protection?: UpstreamProtection;
  /** Each tenant's active series (docs/active-series.md), fed with every forwarded write; absent: not estimated. */
  activeSeries?: ActiveSeriesTracker;
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
  /** What selective filtering delivered of requests still being retried, per replica. */
  private readonly selective = new SelectiveFilter();
  private readonly recorder: DecisionRecorder;
  private readonly stageDeps: StageDeps;

  constructor(private readonly deps: WriteCheckerDeps) {
    this.recorder = new DecisionRecorder({
      stats: deps.stats,
      metrics: deps.metrics,
      log: deps.log,
      now: deps.now,
      logDenials: deps.settings.logDenials,
      aggregator: deps.aggregator,
    });
    this.stageDeps = {
      store: deps.store,
      ha: deps.ha ?? new HaTracker(),
      selective: this.selective,
      metrics: deps.metrics,
      log: deps.log,
      now: deps.now,
      activeSeries: deps.activeSeries,
    };
  }

  /**
   * Forgets state that outlived its use (part-delivered requests nobody retried, quiet tenants' denial log
   * state); run by the service's sweep.
   */
  sweep(nowMs: number): void {
    this.selective.delivered.sweep(nowMs);
    this.recorder.sweep(nowMs);
  }

  /**
   * The tenant named by the request, or the denial for a missing, invalid or contradicted one. With
   * TENANT_FROM_BASIC_AUTH the authenticated basic-auth user is the tenant: a tenant header naming the same tenant
   * is accepted, one naming another is refused (403 tenant_mismatch), never allowed to override the user. Every
   * entry point (proxy, ext_authz, the authz endpoint) calls this, so the rule is the same on all of them.
   */
  identify(
    tenantHeader: string | string[] | undefined,
    authorization: string | undefined,
  ): Identity | Decision {
    const { settings } = this.deps;
    let tenant = Array.isArray(tenantHeader) ? tenantHeader.join(',') : tenantHeader;
    let fromBasicAuth = false;
    if (settings.tenantFromBasicAuth) {
      const user = basicAuthUser(authorization);
      if (user !== undefined) {
        if (tenant !== undefined && tenant !== '' && tenant !== user) {
          return denial('tenant_mismatch', tenantMismatchMessage(settings.tenantHeaderName), 0, 0);
        }
        fromBasicAuth = tenant === undefined || tenant === '';
        tenant = user;
      }
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

  /** The tenant's edge_priority: who adaptive protection sheds first (docs/protection.md). */
  priorityOf(tenant: string): number {
    return this.deps.limits.forTenant(tenant).limits.edge_priority;
  }

  /** The mode `tenant`'s writes get now (undefined: before the tenant is known). */
  modeOf(tenant: string | undefined): EnforcementMode {
    const mode = this.deps.mode;
    if (mode) return mode.effective(tenant);
    return this.deps.settings.dryRun ? 'dry-run' : 'enforce';
  }

  /** Counts a write forwarded unmeasured because its mode is off; nothing else is recorded for it. */
  passUnchecked(tenant: string | undefined): Decision {
    this.recorder.unchecked(tenant);
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
    return denial('unsupported_media_type', selected.unsupported, 0, 0);
  }

  /**
   * Measures the write's body and runs the write pipeline on it; records the outcome. Synchronous with the
   * in-process store; a Promise only when a store is shared (Redis).
   */
  check(req: WriteRequest): Decision | Promise<Decision> {
    const mode = this.modeOf(req.tenant);
    if (mode === 'off') return this.passUnchecked(req.tenant);
    const selected = selectDecoder(req.path, req.contentType, req.contentEncoding);
    if (isUnsupportedMediaType(selected)) {
      const unsupported = denial('unsupported_media_type', selected.unsupported, 0, 0);
      this.recorder.record(req.tenant, unsupported, undefined, req.requestId);
      return unsupported;
    }
    const dryRun = mode === 'dry-run';
    const resolved = this.deps.limits.forTenant(req.tenant);
    // The first stage, before the body is read: request_rate (src/decide/stages/request-rate.ts).
    let taken: Decision | Promise<Decision> | undefined;
    try {
      taken = takeRequest(this.stageDeps, req.tenant, resolved, dryRun);
    } catch (err) {
      taken = this.failed(err, req.tenant, req.requestId);
    }
    if (taken instanceof Promise) {
      return taken.then(
        (t) => this.afterRequestRate(req, selected, resolved, dryRun, t),
        (err: unknown) => this.recordFailure(req, err),
      );
    }
    return this.afterRequestRate(req, selected, resolved, dryRun, taken);
  }

  /** Measures the body and runs the stages after request_rate, unless request_rate refused the write. */
  private afterRequestRate(
    req: WriteRequest,
    selected: BodyDecoder,
    resolved: ResolvedTenant,
    dryRun: boolean,
    requestTaken: Decision | undefined,
  ): Decision | Promise<Decision> {
    if (requestTaken !== undefined && !requestTaken.allowed)
      return this.recorder.finish(
        req.tenant,
        requestTaken,
        undefined,
        req.requestId,
        req.transport,
        req.started,
      );
    const measured = this.measure(req, selected);
    if (!('info' in measured)) return measured;
    const state: WriteState = {
      req,
      dryRun,
      resolved,
      measured,
      requestTaken,
      haReplicaLabel: undefined,
      view: undefined,
      selective: false,
      resumed: undefined,
      info: measured.info,
      observed: undefined,
      query: undefined,
      answer: undefined,
      decided: undefined,
    };
    const decided = runStages(WRITE_STAGES, state, this.stageDeps, (err) =>
      this.failed(err, req.tenant, req.requestId),
    );
    if (decided instanceof Promise) return decided.then((d) => this.finish(state, d));
    return this.finish(state, decided);
  }

  /** A store failure while taking request_rate, recorded like any decision. */
  private recordFailure(req: WriteRequest, err: unknown): Decision {
    const d = this.failed(err, req.tenant, req.requestId);
    return this.recorder.finish(req.tenant, d, undefined, req.requestId, req.transport, req.started);
  }

  /** The measured body, or the decision (400, 413) for one the edge cannot read, recorded. */
  private measure(req: WriteRequest, selected: BodyDecoder): MeasuredBody | Decision {
    const { settings, metrics } = this.deps;
    const parseStarted = performance.now();
    let measured: MeasuredBody;
    try {
      measured = measureBody(selected, req.body, settings.maxRequestBytes);
    } catch (err) {
      if (!(err instanceof BodyDecodeError)) throw err;
      metrics.parseErrors.labels(err.code).inc();
      const cap = settings.maxRequestBytes;
      // A gzip stream cut off at the bound has no declared size: it is at least one byte over.
      const size = err.declaredBytes >= 0 ? err.declaredBytes : cap + 1;
      const d =
        err.code === 'decompressed_too_large'
          ? denial('body_too_large', bodyTooLargeMessage(size, cap), cap, size)
          : denial('invalid_body', invalidBodyMessage(err.message, selected.format.startsWith('otlp')), 0, 0);
      this.recorder.record(req.tenant, d, undefined, req.requestId);
      return d;
    }
    metrics.parseDuration.labels(measured.info.format).observe((performance.now() - parseStarted) / 1000);
    return measured;
  }

  private finish(state: WriteState, decision: Decision): Decision {
    const { req } = state;
    if (decision.allowed && this.deps.protection !== undefined)
      this.deps.protection.forwarded(ingestionCost(state.info), this.deps.now());
    this.observeSeries(state, decision);
    return this.recorder.finish(req.tenant, decision, state.info, req.requestId, req.transport, req.started);
  }

  /**
   * Reads a forwarded write's series into the tenant's active-series estimate, after it was decided: a write
   * forwarded whole (allowed, or only observed over a limit). A part forwarded is left out: its refused series must
   * not count, and its known ones are known already. A tenant enforcing max_global_series_per_user has every write
   * read, so the series it lets through are known at once.
   */
  private observeSeries(state: WriteState, decision: Decision): void {
    const tracker = this.deps.activeSeries;
    if (tracker === undefined || !decision.allowed || decision.partial !== undefined) return;
    const { measured, resolved } = state;
    const always = limitIs(resolved.limits, 'enforce_max_series_at_edge', 'true');
    try {
      tracker.observe(
        state.req.tenant,
        measured.decoded,
        measured.info.format,
        this.deps.now(),
        always,
        state.req.body,
      );
    } catch (err) {
      // The body was scanned already: a throw here is a bug, never a verdict on the write.
      this.deps.log.warn(
        { tenant: state.req.tenant, err: (err as Error).message },
        'active series: body not read',
      );
    }
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
   * not charged. Records the outcome like check().
   */
  checkHeaders(req: HeadersOnlyWrite): Decision | Promise<Decision> {
    const { limits, store } = this.deps;
    const { tenant, declaredBytes, requestId } = req;
    const mode = this.modeOf(tenant);
    if (mode === 'off') return this.passUnchecked(tenant);
    const dryRun = mode === 'dry-run';
    const done = (d: Decision): Decision =>
      this.recorder.finish(tenant, d, undefined, requestId, req.transport, req.started);
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
    let answer: ReturnType<RateStore['take']>;
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
    this.recorder.early(tenant, decision, requestId, remote);
  }
}
