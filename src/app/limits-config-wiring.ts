// Assembles the limits configuration's lifecycle for the service: the registry with its version history,
// the STATE_DIR files (runtime limits, versions, audit) read back at start, the shared config in Redis when
// REDIS_ADDRESS is set, the audit of every change, and the overrides source (file or Kubernetes ConfigMap).
// Runs at start and stop only; nothing here is on the hot path.

import { join } from 'node:path';
import { Gauge } from 'prom-client';
import { AuditLog } from '../observe/audit/audit-log.js';
import { auditConfigChanges } from '../observe/audit/config-audit.js';
import { RedisAuditStream } from '../observe/audit/redis-audit-stream.js';
import type { Settings } from '../settings/settings.js';
import { ConfigError } from '../lib/config-error.js';
import { diffConfigs } from '../limits/limits-config.js';
import type { LimitsConfig } from '../limits/limits-config.js';
import { LimitsRegistry } from '../limits/limits-registry.js';
import { KubernetesConfigMapSource, parseConfigMapRef } from '../limits/kubernetes-configmap-source.js';
import { OverridesApplier } from '../limits/overrides-applier.js';
import type { ReloadResult } from '../limits/overrides-applier.js';
import { OverridesWatcher } from '../limits/overrides-watcher.js';
import { StateDirectory } from '../limits/state-file.js';
import { ConfigPropagation } from '../limits/config-propagation.js';
import { RedisConfigStore } from '../limits/redis-config-persistence.js';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';

const AUDIT_CAPACITY = 1000;
/** How often each replica reads the shared audit stream for other replicas' entries. */
const AUDIT_STREAM_POLL_MS = 500;
/** How long the start waits for Redis before going on with the local config (the re-read catches up later). */
const SHARED_CONFIG_WAIT_MS = 3000;

/** service.ts stops the limits lifecycle through the overrides source's stop(); this finds the sync to stop. */
const propagations = new WeakMap<LimitsRegistry, ConfigPropagation>();

interface Deps {
  settings: Settings;
  log: Logger;
  now: () => number;
  metrics: EdgeMetrics;
}

/** The registry (restored from STATE_DIR when set) and the audit log every committed change is written to. */
export async function openLimitsConfig({ settings, log, now, metrics }: Deps) {
  const state = settings.stateDir ? new StateDirectory(settings.stateDir) : undefined;
  const loaded = state ? await state.load() : undefined;
  for (const warning of loaded?.warnings ?? []) log.warn({ state_dir: settings.stateDir }, warning);
  const limits = new LimitsRegistry(settings.defaultLimits, settings.tenantEnforcement, {
    ...(loaded ? { history: loaded.history } : {}),
    now,
  });
  const audit = state
    ? await AuditLog.open(AUDIT_CAPACITY, join(settings.stateDir, 'audit.jsonl'))
    : new AuditLog(AUDIT_CAPACITY);
  // Shared before any commit below, so versions restored or read from Redis at start reach the stream too.
  const auditStream = settings.redis.addresses.length > 0 ? shareAudit(settings, log, audit) : undefined;
  auditConfigChanges(limits, audit, now);
  limits.onCommit((version) => metrics.limitsVersion.set(version.version));
  new Gauge({
    name: 'rls_config_version',
    help: 'Version of the limits configuration in force on this replica (rises by one per applied change).',
    registers: [metrics.registry],
    collect() {
      this.set(limits.current().version);
    },
  });
  if (state && loaded) {
    limits.setPersistence(state);
    // limits-state.json is what the last run answered 200 for; the history may lag it after a crash.
    const restored = loaded.runtime;
    if (
      restored &&
      diffConfigs(limits.config(), { ...limits.config(), ...pickRuntime(restored) }).length > 0
    ) {
      limits.commit(
        { ...limits.config(), ...pickRuntime(restored) },
        {
          actor: 'state-dir',
          role: null,
          source: 'state',
          reason: `runtime limits restored from ${state.stateFile}`,
          action: 'state.restore',
          tenant: null,
        },
      );
    }
    await limits.saved();
    const snap = limits.current();
    log.info(
      { state_dir: settings.stateDir, version: snap.version, runtime_tenants: snap.runtimeOverrides.size },
      `limits state restored from ${settings.stateDir}: version ${snap.version}`,
    );
  }
  if (settings.redis.addresses.length > 0) await shareThroughRedis({ settings, log, now, metrics }, limits);
  // Redis was waited for just above; if it is still down the stream is read once it answers.
  await auditStream?.start();
  metrics.limitsVersion.set(limits.current().version);
  return { limits, audit };
}

/**
 * With REDIS_ADDRESS the limits configuration (all layers, every version) lives in Redis and every replica holds
 * the same: local changes are written there, others' arrive by pub/sub or the periodic re-read. STATE_DIR, read
 * above, then only seeds a Redis that holds nothing yet.
 */
async function shareThroughRedis({ settings, log, metrics }: Deps, limits: LimitsRegistry): Promise<void> {
  let lastError = '';
  const store = new RedisConfigStore(settings.redis, (err) => {
    // Reported once per kind of error: the rate store's connections already log Redis being down.
    if (err.message === lastError) return;
    lastError = err.message;
    log.warn({ redis: store.description }, `limits config: Redis connection error: ${err.message}`);
  });
  let failing = false;
  const propagation = new ConfigPropagation(limits, store, {
    intervalMs: settings.configSyncIntervalMs,
    onSync(trigger, result, detail) {
      metrics.configSyncs.labels(trigger, result).inc();
      metrics.configSharedVersion.set(propagation.sharedVersion);
      if (result === 'error') {
        if (!failing)
          log.warn(
            { redis: store.description, trigger },
            `limits config not synced with Redis, re-read every ${settings.configSyncIntervalMs} ms: ${detail}`,
          );
        failing = true;
        return;
      }
      if (failing) log.info({ redis: store.description }, `limits config synced with Redis again: ${detail}`);
      else if (result === 'applied')
        log.info(
          { redis: store.description, trigger },
          `limits config from another replica applied: ${detail}`,
        );
      failing = false;
    },
    onStoreBehind(held, ours) {
      log.warn(
        { redis: store.description, held, version: ours },
        `Redis holds limits config version ${held}, older than this replica's ${ours} (restarted empty?): writing it back`,
      );
    },
  });
  limits.setPersistence(propagation);
  propagations.set(limits, propagation);
  if (!(await store.waitReady(SHARED_CONFIG_WAIT_MS)))
    log.warn(
      { redis: store.description },
      `Redis not reachable after ${SHARED_CONFIG_WAIT_MS} ms: starting with the local limits config; it is synced once Redis answers`,
    );
  await propagation.start().catch(() => undefined);
  log.info(
    {
      redis: store.description,
      version: limits.current().version,
      shared_version: propagation.sharedVersion,
    },
    `limits config shared through Redis: version ${limits.current().version}`,
  );
}

/** Every replica's audit entries in one Redis stream, read back for GET /api/audit (docs/limits-lifecycle.md). */
function shareAudit(settings: Settings, log: Logger, audit: AuditLog): RedisAuditStream {
  let lastError = '';
  const stream: RedisAuditStream = new RedisAuditStream(settings.redis, {
    capacity: AUDIT_CAPACITY,
    pollMs: AUDIT_STREAM_POLL_MS,
    onError(err) {
      // Once per kind of error: Redis being down is already logged by the store and the config sync.
      if (err.message === lastError) return;
      lastError = err.message;
      log.warn(
        { redis: stream.description, stream: stream.keys.stream },
        `audit log not shared through Redis, entries are kept and sent once it answers: ${err.message}`,
      );
    },
  });
  audit.share(stream);
  return stream;
}

function pickRuntime(config: LimitsConfig): Pick<LimitsConfig, 'runtimeOverrides' | 'runtimeEnforcement'> {
  return { runtimeOverrides: config.runtimeOverrides, runtimeEnforcement: config.runtimeEnforcement };
}

/** Starts the overrides source: OVERRIDES_FILE (polled) or OVERRIDES_CONFIGMAP (Kubernetes API watch). */
export async function startOverridesSource({ settings, log, now, metrics }: Deps, limits: LimitsRegistry) {
  if (settings.overridesFile && settings.overridesConfigMap)
    throw new ConfigError(
      'settings',
      'OVERRIDES_CONFIGMAP',
      'set either OVERRIDES_FILE or OVERRIDES_CONFIGMAP, not both: both would write the same limits',
    );
  const onResult = (source: string) => (result: ReloadResult, detail: string) => {
    metrics.overridesReloads.labels(result).inc();
    if (result === 'error')
      log.error({ source }, `overrides refused, keeping the last good limits: ${detail}`);
    else log.info({ source }, `overrides applied: ${detail}`);
  };

  let watcher: OverridesWatcher | undefined;
  let configMap: KubernetesConfigMapSource | undefined;
  if (settings.overridesFile) {
    watcher = new OverridesWatcher(settings.overridesFile, limits, onResult(settings.overridesFile), now);
    await watcher.loadInitial();
    watcher.start(settings.overridesReloadIntervalMs);
    metrics.limitsStaleSeconds = () => (now() - watcher!.status.lastSuccessMs) / 1000;
  } else if (settings.overridesConfigMap) {
    const { namespace, name } = parseConfigMapRef(settings.overridesConfigMap);
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kubeConfig = new KubeConfig();
    // In a pod: the service account; elsewhere: KUBECONFIG or ~/.kube/config.
    kubeConfig.loadFromDefault();
    const description = `configmap ${namespace}/${name} key ${settings.overridesConfigMapKey}`;
    const applier = new OverridesApplier(description, limits, 'configmap', onResult(description), now);
    configMap = new KubernetesConfigMapSource({
      namespace,
      name,
      key: settings.overridesConfigMapKey,
      applier,
      kubeConfig,
      pollIntervalMs: settings.overridesReloadIntervalMs,
      log,
    });
    await configMap.loadInitial();
    configMap.start();
    metrics.limitsStaleSeconds = () => configMap!.staleSeconds(now());
  } else {
    metrics.limitsStaleSeconds = () => 0;
  }
  return {
    watcher,
    configMap,
    async reload(): Promise<void> {
      await watcher?.reload();
    },
    async stop(): Promise<void> {
      watcher?.stop();
      await configMap?.stop();
      await propagations.get(limits)?.stop();
    },
  };
}
