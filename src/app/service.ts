// Wires the parts into one running service: settings → limits → store → proxy, admin and metrics
// listeners; starts them in order and stops them gracefully (stop accepting, finish in-flight, close).

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { Server as TlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Settings } from '../settings/settings.js';
import type { LimitsRegistry } from '../limits/limits-registry.js';
import { openLimitsConfig, startOverridesSource } from './limits-config-wiring.js';
import { createRateStore } from './create-rate-store.js';
import { rateQuery } from '../decide/stages/rates.js';
import { buildAdminServer } from '../admin/admin-server.js';
import { accessFromSettings } from '../admin/access.js';
import { findProjectDir } from '../admin/ui-files.js';
import { DecisionAggregator } from '../observe/stats/decision-aggregator.js';
import { createLogger } from '../observe/logger.js';
import type { Logger } from '../observe/logger.js';
import { EdgeMetrics } from '../observe/metrics.js';
import { ProxyServer } from '../proxy/proxy-server.js';
import { InflightBudget } from '../proxy/backpressure.js';
import { answerClientError, proxyServerOptions } from '../proxy/http-limits.js';
import { AuthzHttpEndpoint } from '../proxy/authz-http.js';
import { startGateway } from '../gateway/gateway-listeners.js';
import { WriteChecker } from '../decide/write-checker.js';
import { HaTracker } from '../decide/ha-tracker.js';
import { RedisHaElection } from '../decide/ha-election-redis.js';
import { ModeSwitch } from '../decide/enforcement-mode.js';
import { TrafficStats } from '../observe/traffic-stats.js';
import { BurstDetector } from '../observe/insight/burst-detector.js';
import { acceptedUsage, offeredItems } from '../observe/insight/tenant-usage.js';
import { TenantLabelCap } from '../observe/tenant-label-cap.js';
import { createActiveSeries } from './active-series-wiring.js';
import type { ActiveSeriesTracker } from '../observe/active-series/tracker.js';
import { TlsReloader, readTlsMaterial, tlsFileSet, tlsFront } from '../proxy/tls-files.js';
import type { TlsFront, TlsReloadResult } from '../proxy/tls-files.js';
import { Upstream } from '../proxy/upstream.js';
import { startPolicyGate } from '../decide/policy-gate.js';
import { auditSourceReloads } from '../observe/audit/config-audit.js';
import { UpstreamHealthProbe, forwardFailures } from '../admin/upstream-health.js';
import { ReplicaDirectory } from '../admin/replica-directory.js';
import { RetryAfterHeader } from '../decision/retry-after.js';
import { UpstreamAgreement } from '../observe/upstream-agreement.js';
import type { AgreementCounter } from '../observe/upstream-agreement.js';
import { UpstreamProtection } from '../decide/adaptive/upstream-protection.js';

export const VERSION = '0.1.0';
const SWEEP_INTERVAL_MS = 60_000;
/** Idle tenants are looked for this often at most, and at least 4 times per TENANT_IDLE_TIMEOUT. */
const IDLE_SWEEP_MIN_MS = 1000;

export interface RunningService {
  proxyPort: number;
  adminPort: number;
  metricsPort: number;
  extAuthzPort: number;
  ratelimitPort: number;
  log: Logger;
  limits: LimitsRegistry;
  metrics: EdgeMetrics;
  /** The runtime enforce / dry-run / off switch (admin API: /api/system/mode). */
  mode: ModeSwitch;
  /** Each tenant's active series (docs/active-series.md); undefined with ACTIVE_SERIES_ENABLED=false. */
  activeSeries: ActiveSeriesTracker | undefined;
  /** Re-reads the overrides file, POLICY_FILE and RATELIMIT_CONFIG now (what SIGHUP does). */
  reloadOverrides(): Promise<void>;
  /** Re-reads POLICY_FILE now; does nothing without one. */
  reloadPolicies(): Promise<void>;
  /** Re-reads RATELIMIT_CONFIG now if it changed; does nothing without one. */
  reloadRateLimitConfig(): void;
  /**
   * Graceful stop: report draining (health 503) and keep serving for `delayMs`, then stop accepting and give
   * in-flight requests `graceMs` to finish. Defaults: SHUTDOWN_DELAY and SHUTDOWN_GRACE.
   */
  stop(graceMs?: number, delayMs?: number): Promise<void>;
}

function listen(server: Server | HttpsServer | TlsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server | HttpsServer, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export async function startService(
  settings: Settings,
  options: { log?: Logger; now?: () => number } = {},
): Promise<RunningService> {
  const now = options.now ?? Date.now;
  const log = options.log ?? createLogger(settings.logLevel, settings.logFormat);
  const metrics = new EdgeMetrics();
  // First, before anything is opened: a bad policy file or identity setting refuses the start (ConfigError).
  // Policy limits in Redis fall back to this replica's share, counted as the buckets' store counts replicas.
  let policyReplicas = () => 1;
  const policies = await startPolicyGate({ settings, log, now, metrics, replicas: () => policyReplicas() });
  const policyGate = policies?.gate;
  const { limits, audit } = await openLimitsConfig({ settings, log, now, metrics });
  const created = createRateStore(settings, {
    log,
    now,
    onRoundTrip: (ok, _checks, seconds) =>
      metrics.storeRoundTrip.labels(ok ? 'ok' : 'error').observe(seconds),
  });
  await created.ready();
  policyReplicas = () => created.status().replicas;
  const store = created.store;
  metrics.storeStatus = () => created.status();
  // One cap names tenants for metrics, stats and the aggregator alike (docs/operations.md#tenant-label).
  const cap = new TenantLabelCap({
    maxLabels: settings.tenantLabels.max,
    isKnown: (tenant) => {
      const c = limits.current();
      return (
        c.overrides.has(tenant) ||
        c.runtimeOverrides.has(tenant) ||
        c.enforcement.has(tenant) ||
        c.runtimeEnforcement.has(tenant)
      );
    },
    now,
  });
  const stats = new TrafficStats(cap, now());
  // Names reach the aggregator already bounded by the cap, so its own bound must never pool a named tenant.
  const aggregator = new DecisionAggregator(Number.MAX_SAFE_INTEGER, now());
  cap.onEvict((name) => {
    aggregator.forget(name);
    metrics.forgetTenant(name);
    metrics.tenantEvictions.inc();
  });
  metrics.namedTenants = () => cap.size;
  // Cost and bursts (docs/cost-and-bursts.md): read from the counters above at scrape time and on a timer.
  const burstSettings = settings.insight.bursts;
  const bursts = burstSettings.enabled ? new BurstDetector(burstSettings) : undefined;
  if (bursts)
    bursts.onChange = (v) =>
      log.info(
        { tenant: v.tenant, burst: v.flagged, rate: v.rate, baseline: v.baseline },
        v.flagged
          ? `tenant ${v.tenant} is bursting: ${Math.round(v.rate)} items/s against a baseline of ${Math.round(v.baseline)}`
          : `tenant ${v.tenant} is back near its baseline`,
      );
  metrics.insight.prices = settings.insight.cost;
  metrics.insight.usage = () => acceptedUsage(stats);
  metrics.insight.bursts = () => bursts?.views() ?? [];
  const onTlsReload = (listener: string, result: TlsReloadResult, detail: string): void => {
    metrics.tlsReloads.labels(listener, result).inc();
    if (result === 'applied') log.info({ listener }, `TLS certificate reloaded: ${detail}`);
    else log.error({ listener }, `TLS files refused, keeping the last good certificate: ${detail}`);
  };
  const proxyTlsFiles = tlsFileSet(
    'proxy',
    { env: 'PROXY_TLS_CERT_FILE', path: settings.tls.proxy.certFile },
    { env: 'PROXY_TLS_KEY_FILE', path: settings.tls.proxy.keyFile },
  );
  const adminTlsFiles = tlsFileSet(
    'admin',
    { env: 'ADMIN_TLS_CERT_FILE', path: settings.tls.admin.certFile },
    { env: 'ADMIN_TLS_KEY_FILE', path: settings.tls.admin.keyFile },
  );
  const proxyTls = proxyTlsFiles ? readTlsMaterial(proxyTlsFiles) : undefined;
  const adminTls = adminTlsFiles ? readTlsMaterial(adminTlsFiles) : undefined;
  const { access, generatedToken } = accessFromSettings(settings.admin);

  // Every change of limits (file, ConfigMap, API, rollback, import) is one audited, saved version.
  const overrides = await startOverridesSource({ settings, log, now, metrics }, limits);
  const watcher = overrides.watcher;
  // Bucket levels are read at scrape time, so the hot path pays nothing for this gauge.
  metrics.bucketLevels = (report) => {
    const t = now();
    for (const [tenant] of stats.entries()) {
      const resolved = limits.forTenant(tenant);
      const state = store.peek(tenant, rateQuery(resolved, 0, settings.dryRun), t);
      if (!state) continue;
      report(tenant, 'samples', state.ingestion);
      if (resolved.limits.request_rate > 0) report(tenant, 'requests', state.requests);
    }
  };

  const upstream = new Upstream(
    settings.upstreamUrl,
    settings.upstreamTimeoutMs,
    metrics,
    log,
    new RetryAfterHeader(settings.retryAfter),
  );
  // Each forwarded write's decision against the upstream's answer: rls_upstream_agreement_total, /api/agreement.
  const agreement = new UpstreamAgreement({
    counter: agreementCounter(metrics),
    nameOf: (tenant) => stats.trackedName(tenant),
    now,
    maxTenants: settings.tenantLabels.max + 1,
  });
  upstream.agreement = agreement;
  // Adaptive protection (docs/protection.md): fed by the upstream's answers, moved by its own timer, read by
  // the proxy as a counter check.
  const protection = new UpstreamProtection(settings.adaptive, now());
  upstream.observer = protection.answered.bind(protection);
  metrics.adaptive.report = () => protection.report(now());
  // One line when the ceiling starts coming down and one when it is back at the maximum, not one per window.
  let lowering = false;
  const protectionTimer = setInterval(
    () => {
      const step = protection.tick(now());
      if (step === undefined) return;
      if (step.direction === 'down' && !lowering) {
        lowering = true;
        log.warn(
          { ceiling: protection.ceiling, reason: step.reason, mode: protection.mode },
          `adaptive protection: the upstream is degraded (${step.reason}); ceiling lowered to ${protection.ceiling} writes in flight`,
        );
      } else if (lowering && step.ceiling >= settings.adaptive.maxCeiling) {
        lowering = false;
        log.info(
          { ceiling: protection.ceiling, mode: protection.mode },
          'adaptive protection: the upstream recovered; ceiling back at its maximum',
        );
      }
    },
    Math.max(10, Math.floor(settings.adaptive.windowMs / 4)),
  );
  protectionTimer.unref();
  const mode = new ModeSwitch(settings.dryRun ? 'dry-run' : 'enforce', now());
  // Its own timer, connection and timeout: the probe only reads the proxy's counters, never its path.
  const upstreamHealth = new UpstreamHealthProbe({
    upstreamUrl: settings.upstreamUrl,
    ...settings.upstreamHealth,
    now,
    forwardFailures: () => forwardFailures(metrics.upstreamErrors, metrics.upstreamResponses),
    onChange: (state, detail) => {
      if (state === 'down') log.warn({ upstream: upstream.target, upstream_health: state }, detail);
      else log.info({ upstream: upstream.target, upstream_health: state }, `upstream is ${state}: ${detail}`);
    },
  });
  // Filled in once the listeners are bound (port 0 picks a port); a beat before that says null.
  const listening: { proxy: string | null; admin: string | null } = { proxy: null, admin: null };
  const replicas = new ReplicaDirectory({
    // The same condition as the shared store and the shared config: with Redis, the replicas find each other.
    redis: settings.redis.addresses.length > 0 ? settings.redis : undefined,
    now,
    facts: () => ({
      admin_address: listening.admin,
      proxy_address: listening.proxy,
      version: VERSION,
      started: new Date(stats.startedAtMs).toISOString(),
      config_version: limits.current().version,
    }),
  });
  metrics.enforcementMode = () => mode.global;
  // HA elections are shared like the buckets when Redis is configured (docs/mimir-compatibility.md#ha-pairs).
  let haErrorLoggedMs = -Infinity;
  const ha =
    settings.redis.addresses.length > 0
      ? new RedisHaElection(settings.redis, {
          onError: (err) => {
            if (now() - haErrorLoggedMs < 10_000) return;
            haErrorLoggedMs = now();
            log.warn({ err: err.message }, 'HA election: Redis unreachable, electing in process meanwhile');
          },
        })
      : new HaTracker();
  // Like the rate store: connected before the first write, or given up on (elections stay local meanwhile).
  if (ha instanceof RedisHaElection) await ha.waitReady(2000);
  const activeSeries = createActiveSeries(settings, { log, now, metrics, cap, limits });
  const checker = new WriteChecker({
    activeSeries: activeSeries.tracker,
    settings,
    limits,
    store,
    stats,
    metrics,
    log,
    now,
    aggregator,
    mode,
    ha,
    protection,
  });
  const budget = new InflightBudget(
    settings.proxyLimits.maxInflightRequests,
    settings.proxyLimits.maxInflightBytes,
  );
  const proxy = new ProxyServer({
    settings,
    checker,
    upstream,
    budget,
    onOverload: (limit) => metrics.overloadRejections.labels(limit).inc(),
    onClientError: (cause) => metrics.clientErrors.labels(cause).inc(),
    protection,
    ...(policyGate ? { policyGate } : {}),
  });
  metrics.inflight = () => ({ requests: budget.requests, bytes: budget.bytes, draining: proxy.draining });
  const authzHttp = new AuthzHttpEndpoint({ settings, checker, ...(policyGate ? { policyGate } : {}) });
  const onProxyRequest: Parameters<typeof createServer>[1] = (req, res) =>
    authzHttp.owns(req.url ?? '') ? authzHttp.handle(req, res) : proxy.handle(req, res);
  // With TLS the same parser limits apply: https.Server is an http.Server behind a TLS handshake.
  const proxyServer: Server | HttpsServer = proxyTls
    ? createHttpsServer({ ...proxyServerOptions(settings.proxyLimits), ...proxyTls }, onProxyRequest)
    : createServer(proxyServerOptions(settings.proxyLimits), onProxyRequest);
  if (proxyTls) proxyServer.on('tlsClientError', () => undefined);
  proxyServer.on('clientError', (err: NodeJS.ErrnoException, socket) =>
    answerClientError(err, socket, settings.proxyLimits, (cause) => metrics.clientErrors.labels(cause).inc()),
  );
  const metricsServer = createServer((req, res) => {
    if (req.url === '/metrics' || req.url?.startsWith('/metrics?')) {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics collection failed: ${err.message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('metrics are served at /metrics\n');
  });
  const admin = buildAdminServer({
    settings,
    limits,
    store,
    stats,
    watcher,
    configMap: overrides.configMap,
    upstreamTarget: upstream.target,
    version: VERSION,
    now,
    mode,
    aggregator,
    access,
    audit,
    log,
    uiDir: findProjectDir('ui/dist', 'index.html'),
    docsDir: findProjectDir('docs', 'admin-api.md'),
    draining: () => proxy.draining,
    upstreamHealth,
    replicas,
    bursts,
    agreement,
    ...(policies ? { policies: () => policies.status(), blocks: policies.blocks } : {}),
    ...(policies
      ? {
          lists: {
            store: policies.gate.engine.lists,
            fileStatus: () => policies.listFiles.status(),
            changed: (list: string, operation: 'add' | 'remove') =>
              metrics.listChanges.labels(list, operation).inc(),
            ...(policies.listState ? { persist: () => policies.listState!.save() } : {}),
            ...(policies.sharedLists ? { shared: policies.sharedLists.sync } : {}),
          },
        }
      : {}),
    protection,
    ...(activeSeries.tracker
      ? {
          activeSeries: activeSeries.tracker,
          // GET /api/top-offenders ranks series growth from the same per-minute new-series counts.
          seriesGrowth: (rangeMs: number, top: number) =>
            activeSeries.tracker!.topGrowth(rangeMs, top, now()),
        }
      : {}),
  });

  const sweep = setInterval(() => {
    created.sweep(now(), (tenant) => rateQuery(limits.forTenant(tenant), 0, settings.dryRun));
    (ha instanceof RedisHaElection ? ha.local : ha).sweep(now());
    checker.sweep(now());
  }, SWEEP_INTERVAL_MS);
  sweep.unref();
  const burstTimer = bursts
    ? setInterval(() => bursts.update(now(), offeredItems(stats)), burstSettings.intervalMs)
    : undefined;
  burstTimer?.unref();
  const idleMs = settings.tenantLabels.idleTimeoutMs;
  const idleSweep =
    idleMs > 0
      ? setInterval(
          () => cap.evictIdle(now(), idleMs),
          Math.max(IDLE_SWEEP_MIN_MS, Math.min(SWEEP_INTERVAL_MS, Math.floor(idleMs / 4))),
        )
      : undefined;
  idleSweep?.unref();

  const host = settings.bindAddress;
  const proxyPort = await listen(proxyServer, settings.ports.proxy, host);
  const metricsPort = await listen(metricsServer, settings.ports.metrics, host);
  // The admin server is fastify's plain HTTP server; with TLS a TLS listener hands it decrypted connections.
  let adminFront: TlsFront | undefined;
  let adminPort: number;
  if (adminTls) {
    await admin.ready();
    adminFront = tlsFront(admin.server, adminTls);
    adminPort = await listen(adminFront.server, settings.ports.admin, host);
  } else {
    await admin.listen({ port: settings.ports.admin, host });
    adminPort = (admin.server.address() as AddressInfo).port;
  }
  const gateway = await startGateway({
    settings,
    checker,
    limits,
    store,
    metrics,
    log,
    now,
    onTlsReload,
    budget,
    ...(policyGate ? { policyGate } : {}),
  });
  // Policy-set and descriptor-config reloads are numbered versions in the audit log, like limits versions.
  if (policies) auditSourceReloads(policies.file.versions, audit);
  if (settings.gateway.ratelimitConfig) auditSourceReloads(gateway.ratelimitConfig.versions, audit);
  metrics.sourceVersions = () => ({
    ...(policies ? { policy_file: policies.file.versions.version } : {}),
    ...(settings.gateway.ratelimitConfig ? { ratelimit_config: gateway.ratelimitConfig.version } : {}),
  });
  const reloaders: TlsReloader[] = [];
  if (proxyTlsFiles && proxyTls)
    reloaders.push(
      new TlsReloader(
        'proxy',
        proxyTlsFiles,
        proxyTls,
        (m) => (proxyServer as HttpsServer).setSecureContext(m),
        onTlsReload,
      ),
    );
  if (adminTlsFiles && adminTls && adminFront) {
    const front = adminFront.server;
    reloaders.push(
      new TlsReloader('admin', adminTlsFiles, adminTls, (m) => front.setSecureContext(m), onTlsReload),
    );
  }
  for (const r of reloaders) r.start(settings.tls.reloadMs);
  // A wildcard bind address is no address another replica's operator can use: name the host instead.
  const advertised = host === '0.0.0.0' || host === '::' || host === '' ? hostname() : host;
  listening.proxy = `${advertised}:${proxyPort}`;
  listening.admin = `${advertised}:${adminPort}`;
  upstreamHealth.start();
  replicas.start();
  // The address a person types into a browser: a wildcard bind is reachable as localhost on this machine.
  const uiHost =
    host === '0.0.0.0' || host === '::' || host === ''
      ? 'localhost'
      : host.includes(':')
        ? `[${host}]`
        : host;
  const adminUi = `${adminTls ? 'https' : 'http'}://${uiHost}:${adminPort}/ui/`;
  log.info(
    {
      upstream: upstream.target,
      proxy: `${host}:${proxyPort}`,
      admin: `${host}:${adminPort}`,
      metrics: `${host}:${metricsPort}`,
      ext_authz: `${host}:${gateway.extAuthzPort}`,
      ratelimit: `${host}:${gateway.ratelimitPort}`,
      overrides_file: settings.overridesFile || null,
      mode: settings.dryRun ? 'dry-run' : 'enforce',
      admin_ui: adminUi,
    },
    `mimir-edge-enforcement ${VERSION} listening on ${host}:${proxyPort}, forwarding allowed writes to ${upstream.target}; admin UI at ${adminUi}`,
  );
  if (generatedToken)
    log.warn(
      { admin_ui: adminUi },
      `no ADMIN_TOKEN or ADMIN_TOKENS_FILE set: generated admin token ${generatedToken} (shown once; set ADMIN_TOKEN to choose your own). Open ${adminUi} and paste it`,
    );

  let stopping: Promise<void> | undefined;
  return {
    proxyPort,
    adminPort,
    metricsPort,
    extAuthzPort: gateway.extAuthzPort,
    ratelimitPort: gateway.ratelimitPort,
    log,
    limits,
    metrics,
    mode,
    activeSeries: activeSeries.tracker,
    async reloadOverrides() {
      gateway.ratelimitConfig.reloadIfChanged();
      await Promise.all([overrides.reload(), policies?.reload()]);
    },
    async reloadPolicies() {
      await policies?.reload();
    },
    reloadRateLimitConfig() {
      gateway.ratelimitConfig.reloadIfChanged();
    },
    stop(graceMs = settings.shutdown.graceMs, delayMs = settings.shutdown.delayMs) {
      // A second stop (SIGTERM during a test's afterAll, say) waits for the first instead of closing twice.
      stopping ??= stopAll(graceMs, delayMs);
      return stopping;
    },
  };

  async function stopAll(graceMs: number, delayMs: number): Promise<void> {
    proxy.startDraining();
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    clearInterval(sweep);
    clearInterval(idleSweep);
    clearInterval(burstTimer);
    clearInterval(protectionTimer);
    await Promise.all([upstreamHealth.stop(), replicas.stop()]);
    for (const r of reloaders) r.stop();
    await overrides.stop();
    policies?.stop();
    await Promise.all([closeServer(proxyServer, graceMs), gateway.stop(graceMs)]);
    await Promise.all([
      admin.close(),
      adminFront?.close(),
      closeServer(metricsServer, 1000),
      upstream.close(),
    ]);
    await Promise.all([limits.saved().catch(() => undefined), audit.close()]);
    await created.close();
    if (ha instanceof RedisHaElection) await ha.close();
    await activeSeries.close();
  }
}

/** rls_upstream_agreement_total with one child per (outcome, reason), found once: no label hashing per write. */
function agreementCounter(metrics: EdgeMetrics): AgreementCounter {
  const children = new Map<string, { inc(): void }>();
  return {
    inc(outcome, reason) {
      const key = `${outcome} ${reason}`;
      let child = children.get(key);
      if (child === undefined) {
        child = metrics.upstreamAgreement.labels(outcome, reason);
        children.set(key, child);
      }
      child.inc();
    },
  };
}
