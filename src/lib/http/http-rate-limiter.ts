// The framework-neutral heart of every middleware: builds a RequestContext from a request (client IP
// behind trusted proxies, JWT user, API key, tenant header), evaluates the policies, and turns the result
// into a status, headers and a body. Synchronous unless a JWT must be verified or the counters are shared
// (Redis); reads no clock of its own beyond the `now` option; sweeps idle counters a slice at a time
// instead of running timers.

import type { GeoResolver } from '../geo/geo-resolver.js';
import type { ApiKeyOptions } from '../identify/api-key.js';
import { apiKeyFrom } from '../identify/api-key.js';
import type { ClientIpOptions } from '../identify/client-ip.js';
import { ClientIpResolver } from '../identify/client-ip.js';
import type { JwtIdentityOptions } from '../identify/jwt-identity.js';
import { JwtIdentity } from '../identify/jwt-identity.js';
import { tenantIdProblem } from '../identify/tenant-id.js';
import type { RateDecision } from '../engine/rate-decision.js';
import type { PolicyEvaluation } from '../policy/policy-engine.js';
import { PolicyEngine } from '../policy/policy-engine.js';
import type { CompiledPolicySet } from '../policy/policy-set.js';
import type { SharedPolicyLimits } from '../policy/shared-limits.js';
import { loadPolicySet } from '../policy/policy-set.js';
import type { RequestContext } from '../policy/request-context.js';
import { blockRetryAfterSeconds, blockedBody, penaltyBlockedBody, rateLimitedBody } from './error-body.js';
import type { HeaderStyle } from './ratelimit-headers.js';
import { rateLimitHeaders, retryAfterSeconds } from './ratelimit-headers.js';

type HeaderValue = string | readonly string[] | undefined;

/** What every adapter can tell about a request. */
export interface HttpRequestFacts {
  method: string;
  /** Path and query as received (the query is ignored). */
  url: string;
  /** Headers with lower-case names. */
  headers: Readonly<Record<string, HeaderValue>>;
  remoteAddress: string | undefined;
}

export interface HttpRateLimitOptions {
  /** The policies: an engine, a compiled set, or a policy-set document as YAML/JSON text. */
  policies: PolicyEngine | CompiledPolicySet | string;
  /**
   * Keep the counters outside the process (e.g. a RedisPolicyLimits), so every process using the same
   * store shares each limit. decide() then answers with a Promise, except while the store is unreachable
   * (its local share decides synchronously). Without it, every decision is synchronous and in process.
   */
  shared?: SharedPolicyLimits;
  clientIp?: ClientIpOptions;
  /**
   * Country and ASN of the client for policies that name countries or ASNs, e.g.
   * `new GeoIpDatabases({ countryDatabase: 'GeoLite2-Country.mmdb', asnDatabase: 'GeoLite2-ASN.mmdb' })`.
   */
  geo?: GeoResolver;
  /** Verify bearer tokens to name the user (and tier); without it, users are counted by IP. */
  jwt?: JwtIdentityOptions | JwtIdentity;
  /** Where API keys come from; false to ignore them (default: the x-api-key header). */
  apiKey?: ApiKeyOptions | false;
  /** Tenant header (default x-scope-orgid, Mimir's); false to ignore it. Invalid ids are ignored. */
  tenantHeader?: string | false;
  /** Header naming the caller's tier when no JWT claim does (e.g. set by your gateway); none by default. */
  tierHeader?: string;
  /** Which rate-limit headers to send (default ['draft']). */
  headers?: readonly HeaderStyle[];
  /** Clock in ms (default Date.now). */
  now?: () => number;
  /**
   * The request's weight, e.g. its Content-Length or the rows it asks for: each policy takes its `cost` times
   * it (default 1). Must return a finite number ≥ 0; anything else throws a RangeError naming the value.
   */
  weight?: (facts: HttpRequestFacts) => number;
  /** Add descriptor values to the context (Envoy-style), e.g. from the route. */
  descriptors?: (facts: HttpRequestFacts) => Record<string, string> | undefined;
  /** Called with every evaluation (for logs and metrics); must not throw. */
  onDecision?: (evaluation: PolicyEvaluation, context: RequestContext) => void;
}

export interface HttpVerdict {
  allowed: boolean;
  /** 200 when allowed; 429 when rate limited; 403 when blocked. */
  status: number;
  headers: [string, string][];
  /** JSON text for a refusal; undefined when allowed. */
  body: string | undefined;
  evaluation: PolicyEvaluation;
  context: RequestContext;
}

/** Evaluations between two sweep slices, and slots per policy swept in each slice. */
const SWEEP_EVERY = 256;
const SWEEP_SLOTS = 2048;

function first(value: HeaderValue): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

export class HttpRateLimiter {
  readonly engine: PolicyEngine;
  private readonly ip: ClientIpResolver;
  private readonly jwt: JwtIdentity | undefined;
  private readonly now: () => number;
  private readonly styles: readonly HeaderStyle[];
  private evaluations = 0;

  /** Validates everything up front: a bad option or policy throws here, never during a request. */
  constructor(private readonly options: HttpRateLimitOptions) {
    const p = options.policies;
    this.engine =
      p instanceof PolicyEngine ? p : new PolicyEngine(typeof p === 'string' ? loadPolicySet(p) : p);
    this.ip = new ClientIpResolver(options.clientIp);
    this.jwt =
      options.jwt === undefined
        ? undefined
        : options.jwt instanceof JwtIdentity
          ? options.jwt
          : new JwtIdentity(options.jwt);
    this.now = options.now ?? Date.now;
    this.styles = options.headers ?? ['draft'];
    if (options.shared !== undefined) this.engine.useShared(options.shared);
    if (options.geo !== undefined) this.engine.useGeo(options.geo);
  }

  /** The request's identities; a promise only when a bearer token has to be verified. */
  context(facts: HttpRequestFacts): RequestContext | Promise<RequestContext> {
    const { headers } = facts;
    const q = facts.url.indexOf('?');
    const ctx: RequestContext = {
      method: facts.method,
      path: q < 0 ? facts.url : facts.url.slice(0, q),
      headers,
    };
    const client = this.ip.resolve(facts.remoteAddress, headers);
    if (client !== undefined) {
      ctx.ip = client.ip;
      ctx.ipKey = client.key;
    }
    if (this.options.apiKey !== false) ctx.apiKey = apiKeyFrom(headers, this.options.apiKey);
    const tenantHeader = this.options.tenantHeader ?? 'x-scope-orgid';
    if (tenantHeader !== false) {
      const tenant = first(headers[tenantHeader.toLowerCase()]);
      if (tenant !== undefined && tenantIdProblem(tenant) === undefined) ctx.tenant = tenant;
    }
    if (this.options.tierHeader !== undefined)
      ctx.tier = first(headers[this.options.tierHeader.toLowerCase()]);
    if (this.options.weight !== undefined) {
      const weight = this.options.weight(facts);
      if (!Number.isFinite(weight) || weight < 0)
        throw new RangeError(`the weight option must return a finite number >= 0, got ${String(weight)}`);
      ctx.weight = weight;
    }
    const descriptors = this.options.descriptors?.(facts);
    if (descriptors !== undefined) ctx.descriptors = descriptors;
    const authorization = first(headers['authorization']);
    if (this.jwt === undefined || authorization === undefined || !/^bearer /i.test(authorization)) return ctx;
    return this.jwt.identify(authorization, this.now()).then((found) => {
      if (found.user !== undefined) ctx.user = found.user;
      if (found.tier !== undefined) ctx.tier = found.tier;
      return ctx;
    });
  }

  /**
   * Decides a request whose context is known: synchronously in process, with a Promise when the counters
   * are shared and the store is reachable (never rejects: a failed round trip is decided locally).
   */
  decide(context: RequestContext): HttpVerdict | Promise<HttpVerdict> {
    const nowMs = this.now();
    if (++this.evaluations % SWEEP_EVERY === 0) this.engine.sweep(nowMs, SWEEP_SLOTS);
    const evaluation = this.engine.decide(context, nowMs);
    if (evaluation instanceof Promise) return evaluation.then((e) => this.verdict(e, context, nowMs));
    return this.verdict(evaluation, context, nowMs);
  }

  /** The status, headers and body for an evaluation made at `nowMs` (calls onDecision). */
  verdict(evaluation: PolicyEvaluation, context: RequestContext, nowMs: number): HttpVerdict {
    this.options.onDecision?.(evaluation, context);
    const headers: [string, string][] = [];
    const enforced: RateDecision[] = [];
    for (const r of evaluation.results) if (!r.shadow && r.decision !== undefined) enforced.push(r.decision);
    if (evaluation.decision !== undefined && enforced.length > 0) {
      headers.push(...rateLimitHeaders(enforced, evaluation.decision, nowMs, this.styles));
    }
    if (evaluation.outcome === 'blocked' && evaluation.block !== undefined) {
      // 403 as for the block list (the client is refused for what it did, not for lack of room), with
      // Retry-After at the block's end so a well-behaved client waits it out instead of digging deeper.
      const block = evaluation.block;
      headers.push(['Retry-After', String(blockRetryAfterSeconds(block, nowMs))]);
      headers.push(['Content-Type', 'application/json']);
      const body = JSON.stringify(penaltyBlockedBody(block, nowMs));
      return { allowed: false, status: 403, headers, body, evaluation, context };
    }
    if (evaluation.outcome === 'blocked') {
      headers.push(['Content-Type', 'application/json']);
      return {
        allowed: false,
        status: 403,
        headers,
        body: JSON.stringify(blockedBody()),
        evaluation,
        context,
      };
    }
    if (!evaluation.allowed && evaluation.decision !== undefined) {
      const retry = retryAfterSeconds(evaluation.decision);
      if (retry !== undefined) headers.push(['Retry-After', String(retry)]);
      headers.push(['Content-Type', 'application/json']);
      const body = JSON.stringify(rateLimitedBody(evaluation.decision));
      return { allowed: false, status: 429, headers, body, evaluation, context };
    }
    return { allowed: true, status: 200, headers, body: undefined, evaluation, context };
  }

  /** Gives back concurrency units held by an allowed request; call once when its response is done. */
  release(verdict: HttpVerdict): void {
    if (verdict.evaluation.held.length > 0) this.engine.release(verdict.evaluation, this.now());
  }
}
