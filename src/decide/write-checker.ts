// The transport-neutral check of one write request: identify the tenant, measure the body, decide, and
// record the outcome (metrics, stats, one log line per denial). The HTTP proxy and every later transport
// (ext_authz, authz endpoint) call this, so one tenant's limits hold across all entry points.

import type { Settings } from '../config/settings.js';
import type { Decision } from '../engine/decision.js';
import { basicAuthUser, tenantIdProblem } from '../identify/tenant-id.js';
import type { LimitsRegistry } from '../limits/limits-registry.js';
import {
  BodyDecodeError,
  decompressSnappyBlock,
  describeSeries,
  ingestionCost,
  scanWriteRequest,
} from '../remote-write/index.js';
import type { RequestInfo } from '../remote-write/index.js';
import type { Logger } from '../server/logger.js';
import type { EdgeMetrics } from '../server/metrics.js';
import { NO_TENANT } from '../server/metrics.js';
import type { TrafficStats } from '../server/traffic-stats.js';
import { countRequest } from '../server/traffic-stats.js';
import type { RateAnswer, RateStore } from '../stores/rate-store.js';
import { ALLOWED, checkStatic, decideRates, denial, rateQuery } from './enforcer.js';
import {
  bodyTooLargeMessage,
  invalidBodyMessage,
  invalidTenantMessage,
  missingTenantMessage,
} from './messages.js';

export type Transport = 'http' | 'ext_authz' | 'authz';

export interface WriteCheckerDeps {
  settings: Settings;
  limits: LimitsRegistry;
  store: RateStore;
  stats: TrafficStats;
  metrics: EdgeMetrics;
  log: Logger;
  now: () => number;
}

export interface Identity {
  tenant: string;
  /** True when the tenant came from the basic-auth user: the upstream must then get the tenant header. */
  fromBasicAuth: boolean;
}

const RW2_PROTO = 'io.prometheus.write.v2.request';

export function isDecision(value: Identity | Decision): value is Decision {
  return (value as Decision).reason !== undefined;
}

export class WriteChecker {
  constructor(private readonly deps: WriteCheckerDeps) {}

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

  /** A denial for a body whose declared or received size is over MAX_REQUEST_BYTES, else undefined. */
  overRequestCap(bytes: number): Decision | undefined {
    const cap = this.deps.settings.maxRequestBytes;
    return bytes > cap ? denial('body_too_large', bodyTooLargeMessage(bytes, cap), cap, bytes) : undefined;
  }

  /** Remote write 2.0 and bodies that are not snappy are not measured yet: answer 415 as the spec asks. */
  unsupportedFormat(
    contentType: string | undefined,
    contentEncoding: string | undefined,
  ): Decision | undefined {
    const type = (contentType ?? '').toLowerCase();
    const proto = /;\s*proto=([^;\s]+)/.exec(type)?.[1];
    if (proto !== undefined && proto !== 'prometheus.writerequest') {
      const name = proto === RW2_PROTO ? 'io.prometheus.write.v2.Request' : proto;
      const d = denial(
        'invalid_body',
        `unsupported remote-write message ${name}: this endpoint accepts prometheus.WriteRequest (remote write 1.0) (err-mimir-edge-unsupported-media-type).`,
        0,
        0,
      );
      return { ...d, status: 415 };
    }
    if (contentEncoding !== undefined && contentEncoding.toLowerCase() !== 'snappy') {
      const d = denial(
        'invalid_body',
        `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}: remote write bodies must be snappy-compressed (err-mimir-edge-unsupported-media-type).`,
        0,
        0,
      );
      return { ...d, status: 415 };
    }
    return undefined;
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
  ): Decision | Promise<Decision> {
    const { settings, metrics, limits, store } = this.deps;
    const unsupported = this.unsupportedFormat(contentType, contentEncoding);
    if (unsupported) {
      this.record(tenant, unsupported, undefined, requestId);
      return unsupported;
    }

    let info: RequestInfo;
    let decoded: Buffer;
    const parseStarted = performance.now();
    try {
      decoded = decompressSnappyBlock(body, settings.maxRequestBytes);
      info = scanWriteRequest(decoded, body.length);
    } catch (err) {
      if (!(err instanceof BodyDecodeError)) throw err;
      metrics.parseErrors.labels(err.code).inc();
      const cap = settings.maxRequestBytes;
      const d =
        err.code === 'decompressed_too_large'
          ? denial('body_too_large', bodyTooLargeMessage(err.declaredBytes, cap), cap, err.declaredBytes)
          : denial('invalid_body', invalidBodyMessage(err.message), 0, 0);
      this.record(tenant, d, undefined, requestId);
      return d;
    }
    metrics.parseDuration.labels(info.format).observe((performance.now() - parseStarted) / 1000);

    const resolved = limits.forTenant(tenant);
    const staticResult = checkStatic({
      tenant: resolved,
      info,
      dryRun: settings.dryRun,
      body: decoded,
      describeSeries,
    });
    if (staticResult && !staticResult.allowed)
      return this.finish(tenant, staticResult, info, requestId, transport, started);
    const query = rateQuery(resolved, ingestionCost(info), settings.dryRun);
    let answer: RateAnswer | Promise<RateAnswer>;
    try {
      answer = store.take(tenant, query, this.deps.now());
    } catch (err) {
      return this.finish(tenant, this.failed(err, tenant, requestId), info, requestId, transport, started);
    }
    if (answer instanceof Promise) {
      return answer.then(
        (a) =>
          this.finish(
            tenant,
            decideRates(resolved, query, a, settings.dryRun, staticResult),
            info,
            requestId,
            transport,
            started,
          ),
        (err: unknown) =>
          this.finish(tenant, this.failed(err, tenant, requestId), info, requestId, transport, started),
      );
    }
    return this.finish(
      tenant,
      decideRates(resolved, query, answer, settings.dryRun, staticResult),
      info,
      requestId,
      transport,
      started,
    );
  }

  private finish(
    tenant: string,
    decision: Decision,
    info: RequestInfo,
    requestId: string,
    transport: Transport,
    started: number,
  ): Decision {
    this.deps.metrics.checkDuration.labels(transport).observe((performance.now() - started) / 1000);
    this.record(tenant, decision, info, requestId);
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
    log.info(
      { request_id: requestId, decision: 'deny', reason: decision.reason, status: decision.status, remote },
      decision.message,
    );
  }

  private record(tenant: string, decision: Decision, info: RequestInfo | undefined, requestId: string): void {
    const { stats, metrics, log } = this.deps;
    const nowMs = this.deps.now();
    const name = stats.trackedName(tenant);
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
        log.info(
          {
            request_id: requestId,
            tenant,
            decision: 'would_deny',
            reason: decision.reason,
            observed: decision.observed,
            limit: decision.limit,
          },
          'limit exceeded but not enforced; forwarded',
        );
      }
      return;
    }
    metrics.recordDenied(name, decision.reason, samples);
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
