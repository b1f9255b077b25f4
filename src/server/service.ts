// Wires the parts into one running service: settings → limits → store → proxy, admin and metrics
// listeners; starts them in order and stops them gracefully (stop accepting, finish in-flight, close).

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Settings } from '../config/settings.js';
import { LimitsRegistry } from '../limits/limits-registry.js';
import { OverridesWatcher } from '../limits/overrides-watcher.js';
import { InProcessRateStore } from '../stores/in-process-rate-store.js';
import { rateQuery } from '../decide/enforcer.js';
import { buildAdminServer } from './admin-server.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import { EdgeMetrics } from './metrics.js';
import { ProxyServer } from './proxy-server.js';
import { WriteChecker } from '../decide/write-checker.js';
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
  log: Logger;
  limits: LimitsRegistry;
  metrics: EdgeMetrics;
  /** Re-reads the overrides file now (what SIGHUP does). */
  reloadOverrides(): Promise<void>;
  stop(graceMs?: number): Promise<void>;
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
  const limits = new LimitsRegistry(settings.defaultLimits, settings.tenantEnforcement);
  const store = new InProcessRateStore();
  const stats = new TrafficStats(MAX_TRACKED_TENANTS, now());

  let watcher: OverridesWatcher | undefined;
  if (settings.overridesFile) {
    watcher = new OverridesWatcher(
      settings.overridesFile,
      limits,
      (result, detail) => {
        metrics.overridesReloads.labels(result).inc();
        metrics.limitsVersion.set(limits.current().version);
        if (result === 'error')
          log.error(
            { file: settings.overridesFile },
            `overrides file refused, keeping the last good limits: ${detail}`,
          );
        else log.info({ file: settings.overridesFile }, `overrides applied: ${detail}`);
      },
      now,
    );
    await watcher.loadInitial();
    watcher.start(settings.overridesReloadIntervalMs);
  }
  metrics.limitsVersion.set(limits.current().version);
  metrics.limitsStaleSeconds = () => (watcher ? (now() - watcher.status.lastSuccessMs) / 1000 : 0);
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
  const checker = new WriteChecker({ settings, limits, store, stats, metrics, log, now });
  const proxy = new ProxyServer({ settings, checker, upstream });
  const proxyServer = createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 120_000, headersTimeout: 10_000 },
    proxy.handle,
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
  });

  const sweep = setInterval(() => {
    store.sweep(now(), (tenant) => rateQuery(limits.forTenant(tenant), 0, settings.dryRun));
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  const host = settings.bindAddress;
  const proxyPort = await listen(proxyServer, settings.ports.proxy, host);
  const metricsPort = await listen(metricsServer, settings.ports.metrics, host);
  await admin.listen({ port: settings.ports.admin, host });
  const adminPort = (admin.server.address() as AddressInfo).port;
  log.info(
    {
      upstream: upstream.target,
      proxy: `${host}:${proxyPort}`,
      admin: `${host}:${adminPort}`,
      metrics: `${host}:${metricsPort}`,
      overrides_file: settings.overridesFile || null,
      mode: settings.dryRun ? 'dry-run' : 'enforce',
    },
    `mimir-edge-enforcement ${VERSION} listening on ${host}:${proxyPort}, forwarding allowed writes to ${upstream.target}`,
  );

  return {
    proxyPort,
    adminPort,
    metricsPort,
    log,
    limits,
    metrics,
    async reloadOverrides() {
      await watcher?.reload();
    },
    async stop(graceMs = 10_000) {
      clearInterval(sweep);
      watcher?.stop();
      await closeServer(proxyServer, graceMs);
      await Promise.all([admin.close(), closeServer(metricsServer, 1000), upstream.close()]);
    },
  };
}
