// Envoy's ext_authz (envoy.service.auth.v3.Authorization/Check): the request Envoy describes is judged
// by the same WriteChecker as the proxy, so a tenant's buckets are shared across both entry points.
// It never forwards anything itself and never waits on the admin plane; a denial is a CheckResponse value.

import type { Settings } from '../../settings/settings.js';
import type { Decision } from '../../decision/decision.js';
import { denial } from '../../decision/catalogue.js';
import { REASONS } from '../../decision/catalogue.js';
import { isDecision } from '../../decide/write-checker.js';
import type { Identity, WriteChecker } from '../../decide/write-checker.js';
import { authzDenialHeaders } from '../../proxy/authz-http.js';
import { denialBody } from '../../decision/denial-response.js';
import { RetryAfterHeader } from '../../decision/retry-after.js';
import type { GrpcServer } from '../grpc/grpc-server.js';
import type { EnvoyVerdict, PolicyGate } from '../../decide/policy-gate.js';
import { RequestTargets, isRefusedTarget } from '../../lib/http/request-target.js';
import { decodeCheckRequest } from './check-request.js';
import type { CheckedHttpRequest } from './check-request.js';
import { RpcCode, encodeDeniedResponse, encodeOkResponse } from './check-response.js';

export const EXT_AUTHZ_SERVICE = 'envoy.service.auth.v3.Authorization';
export const CHECK_PATH = `/${EXT_AUTHZ_SERVICE}/Check`;

/** What to do when Envoy sends a truncated body (x-envoy-auth-partial-body: true) or none at all. */
export type PartialBodyRule = 'deny' | 'headers';

export interface ExtAuthzDeps {
  settings: Settings;
  checker: WriteChecker;
  partialBody: PartialBodyRule;
  /** POLICY_FILE's policies, for every request, remote writes first (undefined: no policy file). */
  policyGate?: PolicyGate;
}

const PASS_THROUGH = encodeOkResponse({});

/** The policy gate's answer as Envoy's CheckResponse. */
function policyAnswer(verdict: EnvoyVerdict | Promise<EnvoyVerdict>): Buffer | Promise<Buffer> {
  if (verdict instanceof Promise) return verdict.then(policyAnswer);
  if (verdict.allowed) return PASS_THROUGH;
  const code = verdict.blocked ? RpcCode.PERMISSION_DENIED : RpcCode.RESOURCE_EXHAUSTED;
  return encodeDeniedResponse(code, verdict.message, verdict.status, verdict.headers, verdict.body);
}

/** A request target the edge refuses (not origin-form, a disguised write path): Envoy answers the client 400. */
const BAD_TARGET = (text: string): Buffer =>
  encodeDeniedResponse(
    RpcCode.PERMISSION_DENIED,
    text,
    400,
    { 'content-type': 'text/plain; charset=utf-8' },
    text + '\n',
  );
let requestCounter = 0;
const REQUEST_ID_PREFIX = 'authz-' + process.pid.toString(36) + '-' + Date.now().toString(36);

function rpcCodeFor(d: Decision): number {
  if (d.status === 429 || d.status >= 500) return RpcCode.RESOURCE_EXHAUSTED;
  if (d.status === 401) return RpcCode.UNAUTHENTICATED;
  return RpcCode.PERMISSION_DENIED;
}

/** Why a body Envoy did not send in full cannot be measured, and which Envoy options fix it. */
export function partialBodyMessage(declaredBytes: number, receivedBytes: number, cap: number): string {
  const errorId = REASONS.body_too_large.errorId;
  const seen =
    receivedBytes === 0
      ? 'Envoy sent no request body'
      : `Envoy sent only ${receivedBytes} of ${declaredBytes >= 0 ? declaredBytes : 'the'} body bytes (x-envoy-auth-partial-body: true)`;
  return `${seen}, so the write cannot be measured (${errorId}). Set the ext_authz filter's with_request_body.max_request_bytes to at least ${cap} and allow_partial_message to false.`;
}

export class ExtAuthzService {
  private readonly targets: RequestTargets;
  private readonly gate: PolicyGate | undefined;
  private readonly retryAfter: RetryAfterHeader;

  constructor(private readonly deps: ExtAuthzDeps) {
    this.targets = new RequestTargets(deps.settings.remoteWritePaths);
    this.retryAfter = new RetryAfterHeader(deps.settings.retryAfter);
    this.gate = deps.policyGate;
  }

  register(server: GrpcServer): void {
    server.addUnary(CHECK_PATH, this.check);
  }

  readonly check = (message: Buffer): Buffer | Promise<Buffer> => {
    const started = performance.now();
    const req = decodeCheckRequest(message);
    // The same canonical target as the proxy (request-target.ts): Envoy normalizes paths too when configured
    // as deploy/envoy/envoy.yaml is, but the edge does not rely on it.
    const resolved = this.targets.resolve(req.path);
    if (isRefusedTarget(resolved)) return BAD_TARGET(resolved.refused);
    // Like the proxy: only remote-write POSTs are measured; everything else meets only the policies.
    if (req.method !== 'POST' || resolved.writePath === undefined)
      return this.gate === undefined
        ? PASS_THROUGH
        : policyAnswer(
            this.gate.checkEnvoy(req.method, resolved.target, req.headers, req.sourceAddress || undefined),
          );
    const writePath = resolved.writePath;
    if (this.gate === undefined) return this.checkWrite(req, writePath, started);
    // The same rule as the proxy: the policies (lists, penalties, countries) come first for writes too,
    // and a write they allow still meets Mimir's limits.
    const verdict = this.gate.checkEnvoy(
      'POST',
      resolved.target,
      req.headers,
      req.sourceAddress || undefined,
    );
    if (verdict instanceof Promise)
      return verdict.then((v) => (v.allowed ? this.checkWrite(req, writePath, started) : policyAnswer(v)));
    return verdict.allowed ? this.checkWrite(req, writePath, started) : policyAnswer(verdict);
  };

  /** A remote write against Mimir's limits (the policy gate, if any, has let it through). */
  private checkWrite(req: CheckedHttpRequest, writePath: string, started: number): Buffer | Promise<Buffer> {
    const { settings, checker } = this.deps;
    const h = req.headers;
    const givenId = h['x-request-id'];
    const requestId =
      givenId !== undefined && givenId.length > 0 && givenId.length <= 128
        ? givenId
        : req.id || `${REQUEST_ID_PREFIX}-${(++requestCounter).toString(36)}`;
    const identity = checker.identify(h[settings.tenantHeader], h['authorization']);
    if (isDecision(identity)) {
      checker.rejectEarly(undefined, identity, requestId, req.sourceAddress || undefined);
      return this.denied(identity, undefined, h);
    }
    const { tenant } = identity;
    const lengthHeader = h['content-length'];
    const declared = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : -1;
    const body = req.body;

    const partial = h['x-envoy-auth-partial-body'] === 'true' || (body.length === 0 && declared > 0);
    let result: Decision | Promise<Decision>;
    if (partial) {
      if (this.deps.partialBody === 'deny') {
        const d = denial(
          'body_too_large',
          partialBodyMessage(declared, body.length, settings.maxRequestBytes),
          settings.maxRequestBytes,
          declared >= 0 ? declared : body.length,
        );
        checker.rejectEarly(tenant, d, requestId, undefined);
        return this.denied(d, tenant, h);
      }
      result = checker.checkHeaders({
        tenant,
        declaredBytes: declared,
        requestId,
        transport: 'ext_authz',
        started,
      });
    } else {
      const tooLarge = checker.overRequestCap(Math.max(body.length, declared));
      if (tooLarge) {
        checker.rejectEarly(tenant, tooLarge, requestId, undefined);
        return this.denied(tooLarge, tenant, h);
      }
      result = checker.check({
        tenant,
        body: Buffer.from(body.buffer, body.byteOffset, body.length),
        contentType: h['content-type'],
        contentEncoding: h['content-encoding'],
        // The format follows the canonical write path, as on the proxy (OTLP protobuf vs remote write).
        path: writePath,
        requestId,
        transport: 'ext_authz',
        started,
      });
    }
    if (result instanceof Promise) return result.then((d) => this.answer(d, identity, h));
    return this.answer(result, identity, h);
  }

  private answer(d: Decision, identity: Identity, h: Record<string, string>): Buffer {
    if (!d.allowed) return this.denied(d, identity.tenant, h);
    const headers: Record<string, string> = { 'x-rate-limited': 'false', 'x-tenant-id': identity.tenant };
    // A tenant found in basic auth must reach Mimir in its tenant header, as the proxy does.
    if (identity.fromBasicAuth) headers[this.deps.settings.tenantHeaderName.toLowerCase()] = identity.tenant;
    return encodeOkResponse(headers);
  }

  /** `h`: the request's headers as Envoy sent them (Retry-Attempt lengthens the Retry-After). */
  private denied(d: Decision, tenant: string | undefined, h: Record<string, string>): Buffer {
    const headers = authzDenialHeaders(d, tenant, this.retryAfter, h['retry-attempt']);
    return encodeDeniedResponse(rpcCodeFor(d), d.message, d.status, headers, denialBody(d));
  }
}
