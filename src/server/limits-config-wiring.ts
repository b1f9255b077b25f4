// Assembles the limits configuration's lifecycle for the service: the registry with its version history,
// the STATE_DIR files (runtime limits, versions, audit) read back at start, the audit of every change, and the
// overrides source (file or Kubernetes ConfigMap). Runs at start and stop only; nothing here is on the hot path.

import { join } from 'node:path';
import { Gauge } from 'prom-client';
import { AuditLog } from '../admin/audit-log.js';
import { auditConfigChanges } from '../admin/config-audit.js';
import type { Settings } from '../config/settings.js';
import { ConfigError } from '../limits/config-error.js';
import { diffConfigs } from '../limits/limits-config.js';
import type { LimitsConfig } from '../limits/limits-config.js';
import { LimitsRegistry } from '../limits/limits-registry.js';
import { KubernetesConfigMapSource, parseConfigMapRef } from '../limits/kubernetes-configmap-source.js';
import { OverridesApplier } from '../limits/overrides-applier.js';
import type { ReloadResult } from '../limits/overrides-applier.js';
import { OverridesWatcher } from '../limits/overrides-watcher.js';
import { StateDirectory } from '../limits/state-file.js';
import type { Logger } from './logger.js';
import type { EdgeMetrics } from './metrics.js';

const AUDIT_CAPACITY = 1000;

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
  metrics.limitsVersion.set(limits.current().version);
  return { limits, audit };
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
    },
  };
}
