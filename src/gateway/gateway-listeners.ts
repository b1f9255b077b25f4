// Starts and stops the Envoy-facing gRPC listeners: ext_authz on EXT_AUTHZ_PORT and the rate limit service
// on RATELIMIT_PORT, each with grpc.health.v1, optional TLS/mTLS (files re-read on change), and the
// RATELIMIT_CONFIG source.
// Wiring only: decisions live in the services; this never blocks a call on a reload.

import type { PolicyGate } from '../decide/policy-gate.js';
import type { Settings } from '../settings/settings.js';
import type { WriteChecker } from '../decide/write-checker.js';
import type { LimitsRegistry } from '../limits/limits-registry.js';
import { RateLimitConfigSource } from './ratelimit-config/index.js';
import type { InflightBudget } from '../proxy/backpressure.js';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';
import { TlsReloader, readTlsMaterial, tlsFileSet } from '../proxy/tls-files.js';
import type { TlsFileSet, TlsMaterial, TlsReloadResult } from '../proxy/tls-files.js';
import type { RateStore } from '../stores/rate-store.js';
import { ExtAuthzService, EXT_AUTHZ_SERVICE } from './ext-authz/ext-authz-service.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { GrpcServer } from './grpc/grpc-server.js';
import type { GrpcTlsOptions } from './grpc/grpc-server.js';
import { HealthService, ServingStatus } from './grpc/health-service.js';
import { RATELIMIT_SERVICE, RateLimitService } from './ratelimit/ratelimit-service.js';
import { InProcessWindowStore } from './ratelimit/window-counter-store.js';
import { PeerStats } from './ratelimit/peer-stats.js';

export interface GatewayDeps {
  settings: Settings;
  checker: WriteChecker;
  limits: LimitsRegistry;
  store: RateStore;
  metrics: EdgeMetrics;
  log: Logger;
  now: () => number;
  /** POLICY_FILE's gate for requests that are not remote writes (undefined: no policy file). */
  policyGate?: PolicyGate;
  /** The proxy's in-flight byte budget: gRPC request bodies are counted in it too (one bound for all). */
  budget?: InflightBudget;
  /** Told of every TLS file reload (applied or refused), for the log and metrics. */
  onTlsReload?: (listener: string, result: TlsReloadResult, detail: string) => void;
}

export interface RunningGateway {
  extAuthzPort: number;
  ratelimitPort: number;
  ratelimitConfig: RateLimitConfigSource;
  stop(graceMs: number): Promise<void>;
}

/** Room for headers and framing around the largest body ext_authz may carry. */
const CHECK_REQUEST_OVERHEAD = 1 << 20;
const WINDOW_SWEEP_MS = 10_000;

function tlsFiles(settings: Settings): TlsFileSet | undefined {
  const { certFile, keyFile, clientCaFile } = settings.gateway.grpcTls;
  return tlsFileSet(
    'gRPC',
    { env: 'GRPC_TLS_CERT_FILE', path: certFile },
    { env: 'GRPC_TLS_KEY_FILE', path: keyFile },
    { env: 'GRPC_TLS_CLIENT_CA_FILE', path: clientCaFile },
  );
}

function grpcTls(material: TlsMaterial): GrpcTlsOptions {
  return { cert: material.cert, key: material.key, ...(material.ca ? { clientCa: material.ca } : {}) };
}

export async function startGateway(deps: GatewayDeps): Promise<RunningGateway> {
  const { settings, log } = deps;
  const gatewayMetrics = new GatewayMetrics(deps.metrics.registry);
  const peerStats = new PeerStats(deps.metrics.registry);
  const files = tlsFiles(settings);
  const material = files ? readTlsMaterial(files) : undefined;
  const tls = material ? grpcTls(material) : undefined;
  const onInternalError = (path: string, err: unknown): void => {
    log.error(
      { method: path, err: (err as Error).message, stack: (err as Error).stack },
      'gRPC handler failed',
    );
  };

  const ratelimitConfig = new RateLimitConfigSource(
    settings.gateway.ratelimitConfig,
    (outcome, detail) => {
      gatewayMetrics.recordReload(outcome);
      peerStats.recordConfigLoad(outcome === 'applied');
      if (outcome === 'error')
        log.error(
          { file: settings.gateway.ratelimitConfig },
          `rate limit config refused, keeping the last good one: ${detail}`,
        );
      else log.info({ file: settings.gateway.ratelimitConfig }, `rate limit config applied: ${detail}`);
    },
    deps.now,
    { mergeDomains: settings.gateway.ratelimitMergeDomains },
  );
  ratelimitConfig.loadInitial();
  if (settings.gateway.ratelimitConfig) peerStats.recordConfigLoad(true);
  ratelimitConfig.start(settings.gateway.ratelimitReloadMs);

  const common = {
    ...(tls ? { tls } : {}),
    onInternalError,
    limits: settings.gateway.grpc,
    ...(deps.budget ? { budget: deps.budget } : {}),
  };
  const authzServer = new GrpcServer({
    ...common,
    maxMessageBytes: settings.maxRequestBytes + CHECK_REQUEST_OVERHEAD,
    onLimit: gatewayMetrics.limitRecorder('ext_authz'),
  });
  const authzHealth = new HealthService([EXT_AUTHZ_SERVICE]);
  authzHealth.register(authzServer);
  new ExtAuthzService({
    settings,
    checker: deps.checker,
    partialBody: settings.gateway.partialBody,
    ...(deps.policyGate ? { policyGate: deps.policyGate } : {}),
  }).register(authzServer);

  const windows = new InProcessWindowStore(settings.gateway.ratelimitMaxCounters);
  gatewayMetrics.observeWindows(windows);
  const sweep = setInterval(() => windows.sweep(deps.now()), WINDOW_SWEEP_MS);
  sweep.unref();
  const rlsServer = new GrpcServer({
    ...common,
    maxMessageBytes: 4 << 20,
    onLimit: gatewayMetrics.limitRecorder('ratelimit'),
  });
  const rlsHealth = new HealthService([RATELIMIT_SERVICE]);
  rlsHealth.register(rlsServer);
  new RateLimitService({
    settings,
    limits: deps.limits,
    tenantStore: deps.store,
    windows,
    config: ratelimitConfig,
    now: deps.now,
    tenantKey: settings.gateway.ratelimitTenantKey,
    responseHeaders:
      settings.gateway.ratelimitResponseHeaders || settings.gateway.ratelimitLimitHeaders.enabled,
    // LIMIT_RESPONSE_HEADERS_ENABLED names the headers LIMIT_*_HEADER; RATELIMIT_RESPONSE_HEADERS alone, x-ratelimit-*.
    ...(settings.gateway.ratelimitLimitHeaders.enabled
      ? { headerNames: settings.gateway.ratelimitLimitHeaders }
      : {}),
    globalShadowMode: settings.gateway.ratelimitShadowMode,
    globalQuotaMode: settings.gateway.ratelimitQuotaMode,
    stats: peerStats,
    dynamicMetadata: settings.gateway.ratelimitDynamicMetadata,
    record: gatewayMetrics.recordDescriptor,
    modeOf: (tenant) => deps.checker.modeOf(tenant),
  }).register(rlsServer);

  const host = settings.bindAddress;
  const extAuthzPort = await authzServer.listen(settings.ports.extAuthz, host);
  let ratelimitPort: number;
  try {
    ratelimitPort = await rlsServer.listen(settings.ports.ratelimit, host);
  } catch (err) {
    await authzServer.close(0);
    throw err;
  }

  // Both gRPC ports share one file set: a renewed certificate reaches both for new connections.
  const reloader =
    files && material
      ? new TlsReloader(
          'grpc',
          files,
          material,
          (next) => {
            authzServer.setTls(grpcTls(next));
            rlsServer.setTls(grpcTls(next));
          },
          deps.onTlsReload ?? (() => undefined),
        )
      : undefined;
  reloader?.start(settings.tls.reloadMs);

  return {
    extAuthzPort,
    ratelimitPort,
    ratelimitConfig,
    async stop(graceMs) {
      // Health first, so Envoy's health checks stop sending before the listeners go away.
      authzHealth.setAll(ServingStatus.NOT_SERVING);
      rlsHealth.setAll(ServingStatus.NOT_SERVING);
      ratelimitConfig.stop();
      reloader?.stop();
      clearInterval(sweep);
      await Promise.all([authzServer.close(graceMs), rlsServer.close(graceMs)]);
      await windows.close();
    },
  };
}
