// The headers-only authorization endpoint on the proxy port (AUTHZ_HTTP_PATH): Envoy's ext_authz
// http_service and NGINX auth_request ask it whether a write may pass, and it answers 200 or the status the
// proxy would give. It decides through WriteChecker.checkHeaders (tenant, declared size, request_rate), so
// buckets are shared with every other entry point. It never reads or forwards a body.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Settings } from '../settings/settings.js';
import type { Decision } from '../decision/decision.js';
import { isDecision } from '../decide/write-checker.js';
import type { Identity, WriteChecker } from '../decide/write-checker.js';
import { INTERNAL_ERROR } from '../decision/catalogue.js';
import { denialBody, denialHeaders } from '../decision/denial-response.js';
import { RetryAfterHeader } from '../decision/retry-after.js';
import { requestIdOf } from './proxy-server.js';
import type { PolicyGate } from '../decide/policy-gate.js';
import { RequestTargets, isRefusedTarget } from '../lib/http/request-target.js';

export interface AuthzHttpDeps {
  settings: Settings;
  checker: WriteChecker;
  /** POLICY_FILE's policies, for every request, remote writes first (docs/policies.md). */
  policyGate?: PolicyGate;
}

/** denialHeaders plus the IETF RateLimit fields on a 429, for every authz-style transport. */
export function authzDenialHeaders(
  d: Decision,
  tenant: string | undefined,
  retryAfter: RetryAfterHeader,
  retryAttempt: string | undefined,
): Record<string, string> {
  const headers = denialHeaders(d, tenant, retryAfter, retryAttempt);
  headers['content-type'] = 'text/plain; charset=utf-8';
  if (d.status === 429) {
    headers['ratelimit-limit'] ??= String(d.limit);
    headers['ratelimit-remaining'] ??= '0';
    headers['ratelimit-reset'] ??= String(d.retryAfterSeconds);
  }
  return headers;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export class AuthzHttpEndpoint {
  private readonly prefix: string;
  private readonly retryAfter: RetryAfterHeader;
  private readonly targets: RequestTargets;

  constructor(private readonly deps: AuthzHttpDeps) {
    this.prefix = deps.settings.gateway.authzHttpPath;
    this.retryAfter = new RetryAfterHeader(deps.settings.retryAfter);
    this.targets = new RequestTargets(deps.settings.remoteWritePaths);
  }

  /** Whether `url` (path and query) is addressed to this endpoint rather than to the upstream. */
  owns(url: string): boolean {
    const p = this.prefix;
    if (p === '' || !url.startsWith(p)) return false;
    const next = url.charCodeAt(p.length);
    return Number.isNaN(next) || next === 0x2f /* / */ || next === 0x3f; /* ? */
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    // Headers only: whatever body came with the question is drained, never read.
    req.resume();
    const url = req.url ?? '';
    const rest = url.slice(this.prefix.length);
    const originalUri = header(req, 'x-original-uri') ?? (rest.startsWith('/') ? rest : undefined);
    const originalMethod =
      header(req, 'x-original-method') ??
      (originalUri !== undefined && rest.startsWith('/') ? req.method : undefined);
    if (originalUri !== undefined) {
      // The same canonical target as the proxy (request-target.ts): NGINX sends $request_uri as the client
      // spelled it, and `/api/v1/%70ush` must be the write it is.
      const resolved = this.targets.resolve(originalUri);
      if (isRefusedTarget(resolved)) return this.badTarget(res, resolved.refused);
      if (resolved.writePath === undefined) return this.other(req, res, originalMethod, resolved.target);
    }
    if (originalMethod !== undefined && originalMethod.toUpperCase() !== 'POST')
      return this.other(req, res, originalMethod, originalUri);
    // The same rule as the proxy: the policies (lists, penalties, countries) come first for writes too.
    const gate = this.deps.policyGate;
    if (gate !== undefined) {
      gate.guardAuthz(req, res, 'POST', originalUri ?? '/', () => this.checkWrite(req, res, started));
      return;
    }
    this.checkWrite(req, res, started);
  };

  /** A remote write's headers against Mimir's limits (the policy gate, if any, has let it through). */
  private checkWrite(req: IncomingMessage, res: ServerResponse, started: number): void {
    const { settings, checker } = this.deps;

    const requestId = requestIdOf(req);
    const identity = checker.identify(req.headers[settings.tenantHeader], req.headers.authorization);
    if (isDecision(identity)) {
      checker.rejectEarly(undefined, identity, requestId, req.socket.remoteAddress);
      return this.deny(req, res, identity, undefined);
    }
    const lengthText = header(req, 'x-original-content-length') ?? header(req, 'content-length');
    const declared = lengthText !== undefined && /^\d+$/.test(lengthText) ? Number(lengthText) : -1;
    const result = checker.checkHeaders({
      tenant: identity.tenant,
      declaredBytes: declared,
      requestId,
      transport: 'authz',
      started,
    });
    if (result instanceof Promise) {
      result.then(
        (d) => this.answer(req, res, d, identity),
        () => this.deny(req, res, INTERNAL_ERROR, identity.tenant),
      );
      return;
    }
    this.answer(req, res, result, identity);
  }

  /** A request the edge does not measure: allowed, unless the policy gate refuses it. */
  private other(
    req: IncomingMessage,
    res: ServerResponse,
    method: string | undefined,
    uri: string | undefined,
  ): void {
    const gate = this.deps.policyGate;
    if (gate === undefined) return this.allow(res, undefined);
    gate.answerAuthz(req, res, method ?? 'GET', uri ?? '/');
  }

  /** 400 for a target the edge does not route (not origin-form, a disguised write path). */
  private badTarget(res: ServerResponse, text: string): void {
    const body = text + '\n';
    res.writeHead(400, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'x-rate-limited': 'false',
    });
    res.end(body);
  }

  private answer(req: IncomingMessage, res: ServerResponse, d: Decision, identity: Identity): void {
    if (d.allowed) this.allow(res, identity);
    else this.deny(req, res, d, identity.tenant);
  }

  private allow(res: ServerResponse, identity: Identity | undefined): void {
    const headers: Record<string, string> = { 'x-rate-limited': 'false', 'content-length': '0' };
    if (identity !== undefined) {
      headers['x-tenant-id'] = identity.tenant;
      if (identity.fromBasicAuth) headers[this.deps.settings.tenantHeader] = identity.tenant;
    }
    res.writeHead(200, headers);
    res.end();
  }

  private deny(req: IncomingMessage, res: ServerResponse, d: Decision, tenant: string | undefined): void {
    const headers = authzDenialHeaders(d, tenant, this.retryAfter, header(req, 'retry-attempt'));
    const body = denialBody(d);
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(d.status, headers);
    res.end(body);
  }
}
