// What the admin routes read and change: the running service's parts, handed over once at start.
// Routes must only read these on request; nothing here may be awaited by the proxy's hot path.

import type { Settings } from '../settings/settings.js';
import type { ModeSwitch } from '../decide/enforcement-mode.js';
import type { PolicyBlocks } from '../decide/policy-blocks.js';
import type { UpstreamProtection } from '../decide/adaptive/upstream-protection.js';
import type { KubernetesConfigMapSource } from '../limits/kubernetes-configmap-source.js';
import type { LimitsRegistry } from '../limits/limits-registry.js';
import type { OverridesWatcher } from '../limits/overrides-watcher.js';
import type { ActiveSeriesTracker } from '../observe/active-series/tracker.js';
import type { Logger } from '../observe/logger.js';
import type { TrafficStats } from '../observe/traffic-stats.js';
import type { DecisionAggregator } from '../observe/stats/decision-aggregator.js';
import type { BurstDetector } from '../observe/insight/burst-detector.js';
import type { RateStore } from '../stores/rate-store.js';
import type { AccessControl } from './access.js';
import type { AuditLog } from '../observe/audit/audit-log.js';
import type { ReplicaDirectory } from './replica-directory.js';
import type { UpstreamHealthProbe } from './upstream-health.js';
import type { UpstreamAgreement } from '../observe/upstream-agreement.js';
import type { ListsAdmin } from './list-routes.js';

export interface AdminContext {
  settings: Settings;
  limits: LimitsRegistry;
  store: RateStore;
  stats: TrafficStats;
  aggregator: DecisionAggregator;
  watcher: OverridesWatcher | undefined;
  /** The overrides read from the Kubernetes API (OVERRIDES_CONFIGMAP), when that is the source instead of a file. */
  configMap?: KubernetesConfigMapSource | undefined;
  access: AccessControl;
  audit: AuditLog;
  upstreamTarget: string;
  version: string;
  now: () => number;
  log: Logger;
  /** Directory of the built UI (index.html and assets/), if any. */
  uiDir: string | undefined;
  /** Directory of the project's Markdown docs, for the UI's wiki page, if any. */
  docsDir: string | undefined;
  /** True once a graceful shutdown has begun: /api/health then answers 503 so balancers stop sending. */
  draining?: () => boolean;
  /** The runtime enforce / dry-run / off switch; absent: DRY_RUN decides, and /api/system/mode answers 404. */
  mode?: ModeSwitch;
  /** The periodic upstream probe (UPSTREAM_HEALTH_PATH); absent: the status shows the target only. */
  upstreamHealth?: UpstreamHealthProbe;
  /** The live replicas sharing Redis (or this process alone); absent: this process alone. */
  replicas?: ReplicaDirectory;
  /** Forwarded writes' decisions compared with the upstream's answers; absent: GET /api/agreement answers 404. */
  agreement?: UpstreamAgreement;
  /** Adaptive protection of the upstream; absent: /api/protection answers 404. */
  protection?: UpstreamProtection;
  /** POLICY_FILE's counters: in Redis or not, and in fallback; absent: no policy file. */
  policies?: () => { shared: boolean; fallback: boolean };
  /** Per-tenant burst flags (BURST_DETECTION); absent: detection off. */
  bursts?: BurstDetector | undefined;
  /**
   * Tenants ranked by series growth over a range, for GET /api/top-offenders; absent until the active-series
   * estimate provides it (the slot is typed so that part can fill it without changing the route).
   */
  seriesGrowth?: SeriesGrowthSource | undefined;
  /** POLICY_FILE's penalty blocks (GET/DELETE /api/blocks); absent: no policy file, so no blocks. */
  blocks?: PolicyBlocks;
  /** The policy set's named lists (read, runtime changes); absent: no policy file. */
  lists?: ListsAdmin;
  /** Each tenant's active series (docs/active-series.md); absent with ACTIVE_SERIES_ENABLED=false. */
  activeSeries?: ActiveSeriesTracker;
}

/** New series per second of each tenant over `rangeMs`, highest first (at most `top`). */
export type SeriesGrowthSource = (rangeMs: number, top: number) => { tenant: string; value: number }[];
