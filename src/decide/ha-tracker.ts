// Mimir's HA tracker: one elected replica per (tenant, HA cluster); writes from the other replicas of the
// cluster are deduplicated (202, neither forwarded nor charged) until the elected one has been silent for the
// failover timeout. Pure and clock-driven: the caller passes the time; never does I/O (see ha-election-redis.ts).

/** What the tracker says about one request from `replica` of `cluster`. */
export type HaVerdict =
  /** From the elected replica (or one just elected): ingest it. `failover`: it replaced a silent replica. */
  | { kind: 'accept'; elected: string; failover: boolean; newCluster: boolean }
  /** From a replica that is not the elected one: answer 202 and drop it. */
  | { kind: 'dedupe'; elected: string }
  /** A cluster the tenant has no room for (ha_max_clusters): answer Mimir's 400. */
  | { kind: 'too_many_clusters'; limit: number };

export interface HaQuestion {
  tenant: string;
  cluster: string;
  replica: string;
  nowMs: number;
  /** ha_tracker_failover_timeout in milliseconds. */
  failoverTimeoutMs: number;
  /** ha_max_clusters; 0: unlimited. */
  maxClusters: number;
}

/** Where elections are kept: in process (HaTracker) or shared by every replica of the edge (Redis). */
export interface HaElection {
  readonly kind: 'memory' | 'redis';
  /** Synchronous in process; a Promise when the election is shared. Never rejects with a shared store down. */
  elect(q: HaQuestion): HaVerdict | Promise<HaVerdict>;
}

/**
 * A cluster not heard from for this long is forgotten, and no longer counts towards ha_max_clusters (Mimir's
 * tracker deletes such entries from its KV store after 30 minutes).
 */
export const HA_CLUSTER_FORGET_MS = 30 * 60_000;

interface Elected {
  replica: string;
  /** When the elected replica was last seen (Mimir's ReplicaDesc.ReceivedAt). */
  seenMs: number;
}

/** The pure election rule, shared by the in-process tracker and the Redis script's tests. */
export function electOne(
  current: Elected | undefined,
  q: Pick<HaQuestion, 'replica' | 'nowMs' | 'failoverTimeoutMs'>,
): { verdict: 'accept' | 'dedupe' | 'failover' | 'new'; next: Elected | undefined } {
  if (!current) return { verdict: 'new', next: { replica: q.replica, seenMs: q.nowMs } };
  if (current.replica === q.replica) {
    return { verdict: 'accept', next: { replica: q.replica, seenMs: Math.max(current.seenMs, q.nowMs) } };
  }
  // Mimir fails over once the elected replica's last sample is at least the timeout old.
  if (q.nowMs - current.seenMs >= q.failoverTimeoutMs) {
    return { verdict: 'failover', next: { replica: q.replica, seenMs: q.nowMs } };
  }
  return { verdict: 'dedupe', next: undefined };
}

/** The in-process election: exact for one edge replica (and the fallback when the shared one is unreachable). */
export class HaTracker implements HaElection {
  readonly kind = 'memory';
  private readonly tenants = new Map<string, Map<string, Elected>>();

  elect(q: HaQuestion): HaVerdict {
    let clusters = this.tenants.get(q.tenant);
    const current = clusters?.get(q.cluster);
    if (!current && q.maxClusters > 0 && clusters && clusters.size >= q.maxClusters) {
      forgetSilent(clusters, q.nowMs);
      if (clusters.size >= q.maxClusters) return { kind: 'too_many_clusters', limit: q.maxClusters };
    }
    const { verdict, next } = electOne(current, q);
    if (verdict === 'dedupe') return { kind: 'dedupe', elected: current!.replica };
    if (!clusters) {
      clusters = new Map();
      this.tenants.set(q.tenant, clusters);
    }
    clusters.set(q.cluster, next!);
    return {
      kind: 'accept',
      elected: q.replica,
      failover: verdict === 'failover',
      newCluster: verdict === 'new',
    };
  }

  /** The elected replica of a cluster, for the admin plane and tests. */
  electedOf(tenant: string, cluster: string): string | undefined {
    return this.tenants.get(tenant)?.get(cluster)?.replica;
  }

  /** Drops clusters silent for HA_CLUSTER_FORGET_MS; returns how many were dropped. */
  sweep(nowMs: number): number {
    let dropped = 0;
    for (const [tenant, clusters] of this.tenants) {
      dropped += forgetSilent(clusters, nowMs);
      if (clusters.size === 0) this.tenants.delete(tenant);
    }
    return dropped;
  }
}

function forgetSilent(clusters: Map<string, Elected>, nowMs: number): number {
  let dropped = 0;
  for (const [cluster, e] of clusters) {
    if (nowMs - e.seenMs >= HA_CLUSTER_FORGET_MS) {
      clusters.delete(cluster);
      dropped++;
    }
  }
  return dropped;
}
