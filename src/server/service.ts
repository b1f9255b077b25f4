// Wires the parts into one running service: settings → limits → store → proxy, admin and metrics
// listeners; starts them in order and stops them gracefully (stop accepting, finish in-flight, close).

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Settings } from '../config/settings.js';
import type { LimitsRegistry } from '../limits/limits-registry.js';
import { openLimitsConfig, startOverridesSource } from './limits-config-wiring.js';
import { createRateStore } from '../stores/create-rate-store.js';
import { rateQuery } from '../decide/enforcer.js';
import { buildAdminServer } from './admin-server.js';
import { accessFromSettings } from '../admin/access.js';
import { findProjectDir } from '../admin/ui-files.js';
import { DecisionAggregator } from '../stats/decision-aggregator.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import { EdgeMetrics } from './metrics.js';
import { ProxyServer } from './proxy-server.js';
import { InflightBudget } from './backpressure.js';
import { answerClientError, proxyServerOptions } from './http-limits.js';
import { AuthzHttpEndpoint } from './authz-http.js';
import { startGateway } from '../transports/gateway-listeners.js';
import { WriteChecker } from '../decide/write-checker.js';
import { ModeSwitch } from '../decide/enforcement-mode.js';
import { TrafficStats } from './traffic-stats.js';
import { Upstream } from './upstream.js';

export const VERSION = '0.1.0';
/** Most tenants tracked by name in stats and metric labels; the rest are pooled (see TrafficStats). */
const MAX_TRACKED_TENANTS = 10_000;
const SWEEP_INTERVAL_MS = 60_000;

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
  /** Re-reads the overrides file now (what SIGHUP does). */
  reloadOverrides(): Promise<void>;
  /**
   * Graceful stop: report draining (health 503) and keep serving for `delayMs`, then stop accepting and give
   * in-flight requests `graceMs` to finish. Defaults: SHUTDOWN_DELAY and SHUTDOWN_GRACE.
   */
  stop(graceMs?: number, delayMs?: number): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server, graceMs: number): Promise<void> {
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
  const { limits, audit } = await openLimitsConfig({ settings, log, now, metrics });
  const created = createRateStore(settings, {
    log,
    now,
    onRoundTrip: (ok, _checks, seconds) =>
      metrics.storeRoundTrip.labels(ok ? 'ok' : 'error').observe(seconds),
  });
  await created.ready();
  const store = created.store;
  metrics.storeStatus = () => created.status();
  const stats = new TrafficStats(MAX_TRACKED_TENANTS, now());
  const aggregator = new DecisionAggregator(MAX_TRACKED_TENANTS, now());
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

  const upstream = new Upstream(settings.upstreamUrl, settings.upstreamTimeoutMs, metrics, log);
  const mode = new ModeSwitch(settings.dryRun ? 'dry-run' : 'enforce', now());
  metrics.enforcementMode = () => mode.global;
  const checker = new WriteChecker({ settings, limits, store, stats, metrics, log, now, aggregator, mode });
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
  });
  metrics.inflight = () => ({ requests: budget.requests, bytes: budget.bytes, draining: proxy.draining });
  const authzHttp = new AuthzHttpEndpoint({ settings, checker });
  const proxyServer = createServer(proxyServerOptions(settings.proxyLimits), (req, res) =>
    authzHttp.owns(req.url ?? '') ? authzHttp.handle(req, res) : proxy.handle(req, res),
  );
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
  });

  const sweep = setInterval(() => {
    created.sweep(now(), (tenant) => rateQuery(limits.forTenant(tenant), 0, settings.dryRun));
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  const host = settings.bindAddress;
  const proxyPort = await listen(proxyServer, settings.ports.proxy, host);
  const metricsPort = await listen(metricsServer, settings.ports.metrics, host);
  await admin.listen({ port: settings.ports.admin, host });
  const adminPort = (admin.server.address() as AddressInfo).port;
  const gateway = await startGateway({ settings, checker, limits, store, metrics, log, now });
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
    },
    `mimir-edge-enforcement ${VERSION} listening on ${host}:${proxyPort}, forwarding allowed writes to ${upstream.target}`,
  );
  if (generatedToken)
    log.warn(
      { admin: `http://${host}:${adminPort}/ui/` },
      `no ADMIN_TOKEN or ADMIN_TOKENS_FILE set: generated admin token ${generatedToken} (shown once; set ADMIN_TOKEN to choose your own)`,
    );

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
    async reloadOverrides() {
      await overrides.reload();
    },
    async stop(graceMs = settings.shutdown.graceMs, delayMs = settings.shutdown.delayMs) {
      proxy.startDraining();
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      clearInterval(sweep);
      await overrides.stop();
      await Promise.all([closeServer(proxyServer, graceMs), gateway.stop(graceMs)]);
      await Promise.all([admin.close(), closeServer(metricsServer, 1000), upstream.close()]);
      await Promise.all([limits.saved().catch(() => undefined), audit.flush()]);
      await created.close();
    },
  };
}
