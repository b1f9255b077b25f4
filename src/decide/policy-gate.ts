// The library's policy engine applied by the service to every request it handles: the proxy (before any
// path-specific check), Envoy ext_authz and the authz endpoint. Identities come from the library (client
// IP behind TRUSTED_PROXIES, JWT user, API key, tenant header); a refusal is the library's 429/403 JSON.
// With REDIS_ADDRESS the policies' counters live in Redis (global across replicas); without it a
// decision stays synchronous.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Counter } from 'prom-client';
import type { PolicySettings, Settings } from '../settings/settings.js';
import { ConfigError } from '../lib/config-error.js';
import type { HttpRequestFacts, HttpVerdict } from '../lib/http/http-rate-limiter.js';
import { HttpRateLimiter } from '../lib/http/http-rate-limiter.js';
import type { JwtIdentityOptions } from '../lib/identify/jwt-identity.js';
import { cidrProblem } from '../lib/policy/ip-match.js';
import { blockId } from '../lib/policy/penalty.js';
import type { PolicyEngine, PolicyEvaluation } from '../lib/policy/policy-engine.js';
import type { RequestContext } from '../lib/policy/request-context.js';
import { destroySoon } from '../lib/http/socket-close.js';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';
import { RedisConnections } from '../lib/redis/redis-connections.js';
import { RedisPolicyLimits } from '../lib/redis/redis-policy-limits.js';
import type { PolicyLimitsStatus } from '../lib/redis/redis-policy-limits.js';
import { PolicyBlocks } from './policy-blocks.js';
import { join } from 'node:path';
import { ListFiles } from './list-files.js';
import { ListStateFile } from './list-state.js';
import type { SharedLists } from './list-sharing.js';
import { policyStateInRedis, startListSharing } from './list-sharing.js';
import { PolicyFile } from './policy-file.js';
import { geoProblem, GeoRequestCounter, openGeoDatabases } from './policy-geo.js';

type PolicyDecisionLabel = 'allowed' | 'denied' | 'shadow_allowed' | 'shadow_denied' | 'blocked';
type Child = ReturnType<Counter<'policy' | 'decision'>['labels']>;

export interface PolicyGateOptions {
  engine: PolicyEngine;
  policy: PolicySettings;
  /** Lower-cased tenant header (TENANT_HEADER). */
  tenantHeader: string;
  /** FAILURE_MODE_ALLOW: a bug in evaluation lets the request through instead of answering 500. */
  failOpen: boolean;
  now: () => number;
  /** rls_policy_decisions_total; omitted in library use. */
  decisions?: Counter<'policy' | 'decision'>;
  /** rls_geo_requests_total and rls_geo_asn_requests_total. */
  geoRequests?: GeoRequestCounter;
}

/**
 * The policies' answer for Envoy, transport-neutral: the ext_authz service (src/gateway/ext-authz/) encodes it
 * as a CheckResponse. `blocked` tells a block list (PERMISSION_DENIED) from a rate limit (RESOURCE_EXHAUSTED).
 */
export type EnvoyVerdict =
  | { allowed: true }
  | {
      allowed: false;
      blocked: boolean;
      message: string;
      status: number;
      headers: Record<string, string>;
      body: string;
    };

const ENVOY_OK: EnvoyVerdict = Object.freeze({ allowed: true });
const INTERNAL_TEXT = 'policy evaluation failed; retry later (err-mimir-edge-internal).\n';

function jwtOptions(jwt: PolicySettings['jwt']): JwtIdentityOptions | undefined {
  if (jwt.jwksUrl === '' && jwt.secret === '') return undefined;
  const options: JwtIdentityOptions = { userClaim: jwt.userClaim };
  if (jwt.jwksUrl !== '') options.jwksUrl = jwt.jwksUrl;
  else options.secret = jwt.secret;
  if (jwt.issuer !== '') options.issuer = jwt.issuer;
  if (jwt.audience !== '') options.audience = jwt.audience;
  if (jwt.tierClaim !== '') options.tierClaim = jwt.tierClaim;
  if (jwt.allowMissingExp) options.allowMissingExp = true;
  return options;
}

function headerObject(verdict: HttpVerdict): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of verdict.headers) out[k.toLowerCase()] = v;
  out['x-rate-limited'] = verdict.status === 429 ? 'true' : 'false';
  return out;
}

/** What the authz endpoint asks about: the method and URI NGINX names, the asking connection's headers and peer. */
function authzFacts(req: IncomingMessage, method: string, uri: string): HttpRequestFacts {
  return { method, url: uri, headers: req.headers, remoteAddress: req.socket.remoteAddress };
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
}

export class PolicyGate {
  readonly limiter: HttpRateLimiter;
  private readonly children = new Map<string, Record<PolicyDecisionLabel, Child>>();

  /** Throws ConfigError for a bad TRUSTED_PROXIES entry or JWT setting: found at start, never mid-request. */
  constructor(private readonly options: PolicyGateOptions) {
    const { policy } = options;
    policy.trustedProxies.forEach((cidr, i) => {
      const problem = cidrProblem(cidr);
      if (problem !== undefined)
        throw new ConfigError('TRUSTED_PROXIES', `[${i}] ${JSON.stringify(cidr)}`, problem);
    });
    const jwt = jwtOptions(policy.jwt);
    try {
      this.limiter = new HttpRateLimiter({
        policies: options.engine,
        clientIp: { trustedProxies: policy.trustedProxies, forwardedHeader: policy.clientIpHeader },
        apiKey: { header: policy.apiKeyHeader },
        tenantHeader: options.tenantHeader,
        headers: policy.headers,
        now: options.now,
        ...(jwt !== undefined ? { jwt } : {}),
        ...(options.decisions !== undefined || options.geoRequests !== undefined
          ? { onDecision: (e, ctx) => this.count(e, ctx) }
          : {}),
      });
    } catch (err) {
      // Only the JWT key source is left to refuse here (e.g. a JWT_JWKS_URL that is not a URL).
      throw new ConfigError('JWT_JWKS_URL', '', (err as Error).message);
    }
  }

  get engine(): PolicyEngine {
    return this.limiter.engine;
  }

  /**
   * The proxy's gate, before any other check: a refusal is answered here and never forwarded; an allowed
   * request gets the RateLimit headers on whatever answer follows and goes on with `next`.
   */
  guardProxy(req: IncomingMessage, res: ServerResponse, draining: boolean, next: () => void): void {
    const facts: HttpRequestFacts = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
    };
    const decided = this.decide(facts);
    if (decided instanceof Promise) {
      decided.then(
        (v) => this.applyProxy(v, req, res, draining, next),
        (err: unknown) => res.destroy(err as Error),
      );
      return;
    }
    this.applyProxy(decided, req, res, draining, next);
  }

  /**
   * Envoy ext_authz for a request the edge does not measure: OK, or the denial Envoy sends the client.
   * `sourceAddress` is the peer Envoy saw (CheckRequest attributes.source): it stands where the socket's
   * address stands on the proxy, so forwarded headers count only when it is one of TRUSTED_PROXIES.
   */
  checkEnvoy(
    method: string,
    path: string,
    headers: Readonly<Record<string, string>>,
    sourceAddress: string | undefined,
  ): EnvoyVerdict | Promise<EnvoyVerdict> {
    const facts: HttpRequestFacts = { method, url: path, headers, remoteAddress: sourceAddress };
    const decided = this.decide(facts);
    if (decided instanceof Promise) return decided.then((v) => this.envoyAnswer(v));
    return this.envoyAnswer(decided);
  }

  /** The authz endpoint for a request the edge does not measure: 200 with RateLimit headers, or the denial. */
  answerAuthz(req: IncomingMessage, res: ServerResponse, method: string, uri: string): void {
    const decided = this.decide(authzFacts(req, method, uri));
    if (decided instanceof Promise) {
      decided.then(
        (v) => this.authzAnswer(v, res),
        (err: unknown) => res.destroy(err as Error),
      );
      return;
    }
    this.authzAnswer(decided, res);
  }

  /**
   * The authz endpoint for a remote write: a refusal (block list, penalty, country, a policy's limit) is
   * answered here; an allowed write goes on to `next`, which meets Mimir's limits, as on the proxy.
   */
  guardAuthz(req: IncomingMessage, res: ServerResponse, method: string, uri: string, next: () => void): void {
    const go = (v: HttpVerdict | undefined): void => {
      // Allowed (or a bug under FAILURE_MODE_ALLOW): Mimir's limits decide; otherwise the gate answers.
      if ((v === undefined && this.options.failOpen) || v?.allowed === true) {
        if (v !== undefined) this.limiter.release(v);
        next();
      } else this.authzAnswer(v, res);
    };
    const decided = this.decide(authzFacts(req, method, uri));
    if (decided instanceof Promise) {
      decided.then(go, (err: unknown) => res.destroy(err as Error));
      return;
    }
    go(decided);
  }

  /** The verdict, or an error (a bug) turned into undefined: the caller applies FAILURE_MODE_ALLOW. */
  private decide(facts: HttpRequestFacts): HttpVerdict | undefined | Promise<HttpVerdict | undefined> {
    let ctx: RequestContext | Promise<RequestContext>;
    try {
      ctx = this.limiter.context(facts);
    } catch {
      return undefined;
    }
    if (ctx instanceof Promise)
      return ctx.then(
        (c) => this.decideSafely(c),
        () => undefined,
      );
    return this.decideSafely(ctx);
  }

  private decideSafely(ctx: RequestContext): HttpVerdict | undefined | Promise<HttpVerdict | undefined> {
    try {
      const verdict = this.limiter.decide(ctx);
      if (!(verdict instanceof Promise)) return verdict;
      return verdict.then(
        (v) => v,
        () => undefined,
      );
    } catch {
      return undefined;
    }
  }

  private applyProxy(
    verdict: HttpVerdict | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    draining: boolean,
    next: () => void,
  ): void {
    if (res.destroyed) return;
    if (verdict === undefined) {
      if (this.options.failOpen) return next();
      res.writeHead(500, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': String(Buffer.byteLength(INTERNAL_TEXT)),
        'retry-after': '1',
      });
      res.end(INTERNAL_TEXT);
      req.resume();
      return;
    }
    if (!verdict.allowed) {
      const headers = headerObject(verdict);
      const body = verdict.body ?? '';
      headers['content-length'] = String(Buffer.byteLength(body));
      // A body we refuse is not read; closing is cheaper than draining an upload of unknown size.
      const close = draining || hasBody(req);
      if (close) headers['connection'] = 'close';
      res.writeHead(verdict.status, headers);
      res.end(body);
      req.resume();
      // A client that keeps sending the refused body and never reads must not keep the connection.
      if (close) destroySoon(req.socket);
      return;
    }
    for (const [k, v] of verdict.headers) res.setHeader(k, v);
    if (verdict.evaluation.held.length > 0) res.once('close', () => this.limiter.release(verdict));
    next();
  }

  private envoyAnswer(verdict: HttpVerdict | undefined): EnvoyVerdict {
    // Envoy gives no signal when the request ends, so concurrency units cannot be held across it.
    if (verdict !== undefined) this.limiter.release(verdict);
    if (verdict === undefined) {
      if (this.options.failOpen) return ENVOY_OK;
      const text = INTERNAL_TEXT.trim();
      return { allowed: false, blocked: false, message: text, status: 500, headers: {}, body: INTERNAL_TEXT };
    }
    if (verdict.allowed) return ENVOY_OK;
    const blocked = verdict.status === 403;
    const penalty = verdict.evaluation.block;
    return {
      allowed: false,
      blocked,
      message:
        penalty !== undefined
          ? `blocked by policy "${penalty.policy}" until ${new Date(penalty.endMs).toISOString()}`
          : blocked
            ? 'blocked by the policy block list'
            : `rate limit "${verdict.evaluation.decision?.policy ?? ''}" exceeded`,
      status: verdict.status,
      headers: headerObject(verdict),
      body: verdict.body ?? '',
    };
  }

  private authzAnswer(verdict: HttpVerdict | undefined, res: ServerResponse): void {
    if (res.destroyed) return;
    if (verdict !== undefined) this.limiter.release(verdict);
    if (verdict === undefined || verdict.allowed) {
      if (verdict === undefined && !this.options.failOpen) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
        res.end(INTERNAL_TEXT);
        return;
      }
      const headers = verdict === undefined ? {} : headerObject(verdict);
      headers['x-rate-limited'] = 'false';
      headers['content-length'] = '0';
      res.writeHead(200, headers);
      res.end();
      return;
    }
    const headers = headerObject(verdict);
    const body = verdict.body ?? '';
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(verdict.status, headers);
    res.end(body);
  }

  /** rls_policy_decisions_total: label children are cached per policy, so a count is a property read. */
  private count(e: PolicyEvaluation, ctx: RequestContext): void {
    this.options.geoRequests?.record(this.engine.geoRules, e, ctx);
    if (this.options.decisions === undefined) return;
    if (e.outcome === 'blocked' && e.block !== undefined) return this.child(e.block.policy).blocked.inc();
    if (e.outcome === 'blocked') return this.child('block_list').denied.inc();
    if (e.outcome === 'allow_listed') return this.child('allow_list').allowed.inc();
    const refusedBy = e.allowed ? undefined : e.decision?.policy;
    if (refusedBy !== undefined) this.child(refusedBy).denied.inc();
    for (const r of e.results) {
      if (r.shadow) {
        this.child(r.policy)[r.decision?.allowed === false ? 'shadow_denied' : 'shadow_allowed'].inc();
      } else if (refusedBy === undefined) {
        this.child(r.policy).allowed.inc();
      }
    }
  }

  private child(policy: string): Record<PolicyDecisionLabel, Child> {
    let c = this.children.get(policy);
    if (c === undefined) {
      const counter = this.options.decisions!;
      const isList = policy === 'block_list' || policy === 'allow_list';
      // The lists report their own words: a block is "blocked", an allow-list pass "allow_listed".
      c = {
        allowed: counter.labels(policy, isList ? 'allow_listed' : 'allowed'),
        denied: counter.labels(policy, isList ? 'blocked' : 'denied'),
        shadow_allowed: counter.labels(policy, 'shadow_allowed'),
        shadow_denied: counter.labels(policy, 'shadow_denied'),
        blocked: counter.labels(policy, 'blocked'),
      };
      this.children.set(policy, c);
    }
    return c;
  }
}

export interface RunningPolicyGate {
  gate: PolicyGate;
  file: PolicyFile;
  /** The list files of the policy set in force, each watched on its own. */
  listFiles: ListFiles;
  /** STATE_DIR/lists.json, where runtime list changes are kept; undefined without STATE_DIR. */
  listState: ListStateFile | undefined;
  /** Runtime list changes shared through Redis (docs/policies.md#lists-at-scale); undefined without Redis. */
  sharedLists: SharedLists | undefined;
  /** Re-reads POLICY_FILE, its list files and the GEOIP_* files now (what SIGHUP does). */
  reload(): Promise<void>;
  /** The penalty blocks in force, and lifting them (the admin API's /api/blocks). */
  blocks: PolicyBlocks;
  /** Whether the counters are in Redis, and whether this replica decides on its local share meanwhile. */
  status(): PolicyLimitsStatus;
  stop(): void;
}

/**
 * Loads POLICY_FILE (a bad file or identity setting throws ConfigError: the service refuses to start),
 * builds the gate and polls the file. Undefined when no file is configured: then nothing is added anywhere.
 */
export async function startPolicyGate(deps: {
  settings: Settings;
  log: Logger;
  now: () => number;
  metrics: EdgeMetrics;
  /** Replicas sharing each policy limit while Redis is unreachable (default 1). */
  replicas?: () => number;
}): Promise<RunningPolicyGate | undefined> {
  const { settings, log, now, metrics } = deps;
  if (settings.policy.file === '') {
    if (settings.geo.countryDatabase !== '' || settings.geo.asnDatabase !== '')
      log.warn(
        {},
        'GEOIP_* databases are set but POLICY_FILE is not: no rule uses them, so they are not read',
      );
    return undefined;
  }
  const geo = openGeoDatabases(settings, log, metrics);
  // Built once the first set is loaded; a later reload re-matches its watchers to the new set's lists.
  const watching: { lists?: ListFiles } = {};
  const file = new PolicyFile(
    settings.policy.file,
    (result, detail) => {
      if (result === 'unchanged') return;
      metrics.policyReloads.labels(result).inc();
      if (result === 'applied') {
        // The new set may name other list files: watch exactly those.
        watching.lists?.sync();
        metrics.policyCount.set(file.status.policies);
        log.info({ policy_file: settings.policy.file }, `policy file applied: ${detail}`);
      } else {
        log.error(
          { policy_file: settings.policy.file },
          `policy file refused, keeping the last good policies: ${detail}`,
        );
      }
    },
    now,
    (set) => geoProblem(set, geo),
  );
  let engine: PolicyEngine;
  try {
    engine = await file.loadInitial();
  } catch (err) {
    geo?.close();
    throw err;
  }
  engine.useGeo(geo);
  const lists = new ListFiles(engine.lists, {
    intervalMs: settings.policy.reloadMs,
    log,
    now,
    onResult: (list, result) => metrics.listReloads.labels(list, result).inc(),
  });
  watching.lists = lists;
  lists.sync();
  const listState =
    settings.stateDir === ''
      ? undefined
      : new ListStateFile(join(settings.stateDir, 'lists.json'), engine.lists, log);
  const restored = (await listState?.restore()) ?? 0;
  if (restored > 0)
    log.info(
      { state_dir: settings.stateDir },
      `runtime changes of ${restored} lists restored from ${settings.stateDir}`,
    );
  metrics.listInfos = () => engine.lists.infos();
  const sharedLists = await startListSharing({ settings, log, metrics, store: engine.lists, listState });
  const shared = sharedPolicyLimits(settings, log, now, deps.replicas ?? (() => 1));
  if (shared !== undefined) {
    engine.useShared(shared);
    metrics.policyStatus = () => shared.status;
  }
  metrics.policyCount.set(file.status.policies);
  watchPenalties(engine, log, now, metrics);
  // Replicas learn of blocks from the first request on (a set without penalties starts it on first use).
  if (shared !== undefined && engine.policies.some((p) => p.penalty !== undefined)) shared.penalties.start();
  const gate = new PolicyGate({
    engine,
    policy: settings.policy,
    tenantHeader: settings.tenantHeader,
    failOpen: settings.failureModeAllow,
    now,
    decisions: metrics.policyDecisions,
    ...(geo !== undefined ? { geoRequests: new GeoRequestCounter(metrics) } : {}),
  });
  file.start(settings.policy.reloadMs);
  log.info(
    { policy_file: settings.policy.file, policies: file.status.policies },
    `policies from ${settings.policy.file} apply to every request`,
  );
  return {
    gate,
    file,
    blocks: new PolicyBlocks(engine, now, (v) => metrics.policyBlockLifts.labels(v.policy).inc()),
    listFiles: lists,
    listState,
    sharedLists,
    async reload() {
      await Promise.all([file.reload(), geo?.reload()]);
      await lists.reload();
    },
    status: () => shared?.status ?? { shared: false, fallback: false, breaker: 'closed', scriptReloads: 0 },
    stop() {
      file.stop();
      geo?.close();
      lists.stop();
      void shared?.close();
      void sharedLists?.stop();
    },
  };
}

/** How often a repeated Redis connection error is logged. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/** Policy counters in Redis when the buckets are (REDIS_ADDRESS set, STORE auto or redis). */
function sharedPolicyLimits(
  settings: Settings,
  log: Logger,
  now: () => number,
  replicas: () => number,
): RedisPolicyLimits | undefined {
  const redis = settings.redis;
  if (!policyStateInRedis(settings)) return undefined;
  let lastErrorLog = 0;
  // A pool of its own, smaller than the buckets': policy checks are batched per tick too.
  const connections = new RedisConnections(
    { ...redis, poolSize: Math.min(2, redis.poolSize), minIdleConns: Math.min(1, redis.minIdleConns) },
    (err) => {
      const t = now();
      if (t - lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
      lastErrorLog = t;
      log.warn(
        { redis: connections.description, err: err.message },
        `Redis connection error: ${err.message}`,
      );
    },
  );
  log.info(
    { redis: connections.description },
    `policy limits are shared through Redis (${connections.description})`,
  );
  return new RedisPolicyLimits(connections, {
    keyPrefix: redis.keyPrefix,
    breakerFailures: redis.breakerFailures,
    breakerCooldownMs: redis.breakerCooldownMs,
    replicas,
    now,
    onModeChange: (inFallback, detail) => {
      if (inFallback) log.warn({ redis: connections.description, policy_fallback: true }, detail);
      else log.info({ redis: connections.description, policy_fallback: false }, detail);
    },
  });
}

/** Metrics and a log line for every block a penalty starts; the gauge reads the box at scrape time. */
function watchPenalties(engine: PolicyEngine, log: Logger, now: () => number, metrics: EdgeMetrics): void {
  engine.onBlock = (b) => {
    metrics.policyBlocks.labels(b.policy, String(b.level)).inc();
    log.warn(
      // The block's id, not its key: a key may be an API key, and the id finds it in GET /api/blocks.
      {
        policy: b.policy,
        level: b.level,
        block_id: blockId(b.policy, b.key),
        until: new Date(b.endMs).toISOString(),
      },
      `policy "${b.policy}" blocks an identity for ${Math.round((b.endMs - b.startMs) / 1000)}s (level ${b.level}: ${b.reason})`,
    );
  };
  metrics.policyBlocksNow = () => engine.penalties.activeCount(now());
}
