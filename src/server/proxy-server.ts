// The HTTP transport: a reverse proxy in front of the upstream. POSTs to the remote-write paths are
// identified, measured and decided before a byte reaches the upstream; everything else streams through
// untouched. The hot path never awaits the admin plane and allocates one buffer per body.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Decision } from '../engine/decision.js';
import { ALLOWED, decide, denial, requestBurst } from '../decide/enforcer.js';
import {
  bodyTooLargeMessage,
  invalidBodyMessage,
  invalidTenantMessage,
  missingTenantMessage,
} from '../decide/messages.js';
import { basicAuthUser, tenantIdProblem } from '../identify/tenant-id.js';
import type { LimitsRegistry } from '../limits/limits-registry.js';
import type { Settings } from '../config/settings.js';
import {
  BodyDecodeError,
  decompressSnappyBlock,
  describeSeries,
  ingestionCost,
  scanWriteRequest,
} from '../remote-write/index.js';
import type { RequestInfo } from '../remote-write/index.js';
import type { InProcessRateStore } from '../stores/in-process-rate-store.js';
import type { Logger } from './logger.js';
import type { EdgeMetrics } from './metrics.js';
import { NO_TENANT } from './metrics.js';
import type { TrafficStats } from './traffic-stats.js';
import { countRequest } from './traffic-stats.js';
import type { Upstream } from './upstream.js';

export interface ProxyDeps {
  settings: Settings;
  limits: LimitsRegistry;
  store: InProcessRateStore;
  stats: TrafficStats;
  metrics: EdgeMetrics;
  log: Logger;
  upstream: Upstream;
  /** Milliseconds since the epoch; injectable so tests can drive time. */
  now?: () => number;
}

const RW2_PROTO = 'io.prometheus.write.v2.request';
let requestCounter = 0;
const REQUEST_ID_PREFIX = process.pid.toString(36) + '-' + Date.now().toString(36);

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && given.length > 0 && given.length <= 128) return given;
  return `${REQUEST_ID_PREFIX}-${(++requestCounter).toString(36)}`;
}

export class ProxyServer {
  private readonly paths: ReadonlySet<string>;
  private readonly now: () => number;

  constructor(private readonly deps: ProxyDeps) {
    this.paths = new Set(deps.settings.remoteWritePaths);
    this.now = deps.now ?? Date.now;
  }

  /** The `request` listener of the proxy's http.Server. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (req.method === 'POST' && this.paths.has(path)) {
      this.enforce(req, res);
      return;
    }
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    this.deps.upstream.forward(req, res, hasBody ? req : null, requestIdOf(req));
  };

  private enforce(req: IncomingMessage, res: ServerResponse): void {
    const { settings } = this.deps;
    const started = performance.now();
    const requestId = requestIdOf(req);

    // Identify: the tenant header, else (when enabled) the basic-auth user, checked with Mimir's rules.
    let tenant = req.headers[settings.tenantHeader];
    let extraHeaders: string[] | undefined;
    if (Array.isArray(tenant)) tenant = tenant.join(',');
    if (tenant === undefined && settings.tenantFromBasicAuth) {
      tenant = basicAuthUser(req.headers.authorization);
      if (tenant !== undefined) extraHeaders = [settings.tenantHeader, tenant];
    }
    if (tenant === undefined || tenant === '') {
      this.reject(
        req,
        res,
        requestId,
        NO_TENANT,
        denial(
          'missing_tenant',
          missingTenantMessage(settings.tenantHeaderName, settings.tenantFromBasicAuth),
          0,
          0,
        ),
        true,
      );
      return;
    }
    const problem = tenantIdProblem(tenant);
    if (problem) {
      this.reject(
        req,
        res,
        requestId,
        NO_TENANT,
        denial('invalid_tenant', invalidTenantMessage(problem), 0, 0),
        true,
      );
      return;
    }

    // Refuse a body we will not read before reading it.
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > settings.maxRequestBytes) {
      this.reject(
        req,
        res,
        requestId,
        tenant,
        denial(
          'body_too_large',
          bodyTooLargeMessage(declared, settings.maxRequestBytes),
          settings.maxRequestBytes,
          declared,
        ),
        true,
      );
      return;
    }

    const chunks: Buffer[] = [];
    let received = 0;
    let aborted = false;
    req.on('data', (chunk: Buffer) => {
      if (aborted) return;
      received += chunk.length;
      if (received > settings.maxRequestBytes) {
        aborted = true;
        this.reject(
          req,
          res,
          requestId,
          tenant,
          denial(
            'body_too_large',
            bodyTooLargeMessage(received, settings.maxRequestBytes),
            settings.maxRequestBytes,
            received,
          ),
          true,
        );
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (aborted) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
      this.decideAndRespond(req, res, requestId, tenant, body, extraHeaders, started);
    });
    req.on('error', () => {
      aborted = true;
    });
  }

  private decideAndRespond(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    tenant: string,
    body: Buffer,
    extraHeaders: string[] | undefined,
    started: number,
  ): void {
    const { settings, metrics, limits, store } = this.deps;
    const unsupported = this.unsupportedFormat(req);
    if (unsupported) {
      this.reject(req, res, requestId, tenant, unsupported, false);
      return;
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
      const d =
        err.code === 'decompressed_too_large'
          ? denial(
              'body_too_large',
              bodyTooLargeMessage(err.declaredBytes, settings.maxRequestBytes),
              settings.maxRequestBytes,
              err.declaredBytes,
            )
          : denial('invalid_body', invalidBodyMessage(err.message), 0, 0);
      this.reject(req, res, requestId, tenant, d, false);
      return;
    }
    metrics.parseDuration.labels(info.format).observe((performance.now() - parseStarted) / 1000);

    let decision: Decision;
    const nowMs = this.now();
    try {
      const resolved = limits.forTenant(tenant);
      const l = resolved.limits;
      const rate = store.get(tenant, l.ingestion_burst_size, requestBurst(l), nowMs);
      decision = decide({
        tenant: resolved,
        info,
        rate,
        nowMs,
        dryRun: settings.dryRun,
        body: decoded,
        describeSeries,
      });
    } catch (err) {
      // A bug or store failure, not a verdict on the request.
      this.deps.log.error(
        { request_id: requestId, tenant, err: (err as Error).message },
        'enforcement failed',
      );
      if (!settings.failureModeAllow) {
        this.respondText(res, 500, `enforcement failed; retry later (err-mimir-edge-internal).`, {
          'retry-after': '1',
        });
        return;
      }
      decision = ALLOWED;
    }
    metrics.checkDuration.labels('http').observe((performance.now() - started) / 1000);
    this.record(tenant, decision, info, requestId);
    if (!decision.allowed) {
      this.respondDenied(res, decision, tenant, false);
      return;
    }
    this.deps.upstream.forward(req, res, body, requestId, extraHeaders);
  }

  /** Remote write 2.0 and bodies that are not snappy are not measured yet: answer as the spec asks. */
  private unsupportedFormat(req: IncomingMessage): Decision | undefined {
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    const proto = /;\s*proto=([^;\s]+)/.exec(type)?.[1];
    if (proto !== undefined && proto !== 'prometheus.writerequest') {
      const d = denial(
        'invalid_body',
        `unsupported remote-write message ${proto === RW2_PROTO ? 'io.prometheus.write.v2.Request' : proto}: this endpoint accepts prometheus.WriteRequest (remote write 1.0) (err-mimir-edge-unsupported-media-type).`,
        0,
        0,
      );
      return { ...d, status: 415 };
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'snappy') {
      const d = denial(
        'invalid_body',
        `unsupported Content-Encoding ${JSON.stringify(encoding)}: remote write bodies must be snappy-compressed (err-mimir-edge-unsupported-media-type).`,
        0,
        0,
      );
      return { ...d, status: 415 };
    }
    return undefined;
  }

  private record(tenant: string, decision: Decision, info: RequestInfo | undefined, requestId: string): void {
    const { stats, metrics, log } = this.deps;
    const nowMs = this.now();
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

  private reject(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    tenant: string,
    decision: Decision,
    closeConnection: boolean,
  ): void {
    if (tenant === NO_TENANT) {
      this.deps.metrics.recordDenied(NO_TENANT, decision.reason, 0);
      this.deps.stats.total.requests++;
      this.deps.stats.total.denied++;
      this.deps.log.info(
        {
          request_id: requestId,
          decision: 'deny',
          reason: decision.reason,
          status: decision.status,
          remote: req.socket.remoteAddress,
        },
        decision.message,
      );
    } else {
      this.record(tenant, decision, undefined, requestId);
    }
    this.respondDenied(res, decision, tenant, closeConnection);
    if (closeConnection) req.resume();
  }

  private respondDenied(res: ServerResponse, d: Decision, tenant: string, closeConnection: boolean): void {
    const headers: Record<string, string> = { 'x-rate-limited': d.status === 429 ? 'true' : 'false' };
    if (tenant !== NO_TENANT) headers['x-tenant-id'] = tenant;
    if (d.retryAfterSeconds > 0) headers['retry-after'] = String(d.retryAfterSeconds);
    if (closeConnection) headers.connection = 'close';
    this.respondText(res, d.status, d.message, headers);
  }

  private respondText(
    res: ServerResponse,
    status: number,
    text: string,
    headers: Record<string, string>,
  ): void {
    const body = text + '\n';
    res.writeHead(status, {
      ...headers,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }
}
