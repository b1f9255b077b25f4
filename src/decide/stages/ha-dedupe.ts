// Stage of the write pipeline (src/decide/write-pipeline.ts): accept_ha_samples, Mimir's HA tracker. The cluster
// and replica labels of the first series pick the pair (Mimir's findHALabels). The elected replica's write goes on
// without its replica label (Mimir removes it before validating); another replica's gets 202 and is neither
// forwarded nor charged to ingestion_rate (Mimir's request-rate limit runs before its HA dedupe, so request_rate
// is charged); one cluster too many gets Mimir's 400. A verdict whose limit is only observed is counted and the
// write goes on as any other. A write without both labels is not from an HA pair; one whose replica label is
// longer than max_label_value_length is not deduplicated either (Mimir's checkSample), and validation answers it.

import { denial, haDeduplicatedMessage, haTooManyClustersMessage } from '../../decision/catalogue.js';
import { durationMs, limitIs } from '../../limits/limit-definitions.js';
import { isEnforced } from '../../limits/tenant-limits.js';
import { firstSeriesLabels } from '../../remote-write/index.js';
import type { HaQuestion, HaVerdict } from '../ha-tracker.js';
import type { StageDeps, StageOutcome, WriteStage, WriteState } from '../write-request.js';
import { decideRates, rateQuery, take } from './rates.js';

/** ha_tracker_failover_timeout in milliseconds; the texts in use are few, so each is parsed once. */
const failoverCache = new Map<string, number>();
function failoverMs(text: string): number {
  let ms = failoverCache.get(text);
  if (ms === undefined) {
    ms = durationMs(text) ?? 30_000;
    if (failoverCache.size > 1000) failoverCache.clear();
    failoverCache.set(text, ms);
  }
  return ms;
}

export const haDedupe: WriteStage = {
  name: 'accept_ha_samples',
  run(s, deps) {
    const l = s.resolved.limits;
    if (!limitIs(l, 'accept_ha_samples', 'true')) return s;
    const { decoded, info } = s.measured;
    const pair = firstSeriesLabels(
      decoded,
      info.format,
      l.ha_cluster_label,
      l.ha_replica_label,
      l.promote_otel_resource_attributes,
    );
    if (!pair || pair.first === '' || pair.second === '') return s;
    // Mimir's checkSample: a replica label longer than max_label_value_length is not used for deduplication;
    // the write goes on with the label kept, and validation refuses it (label-value-too-long) like any series.
    if (l.max_label_value_length > 0 && Buffer.byteLength(pair.second) > l.max_label_value_length) return s;
    const question: HaQuestion = {
      tenant: s.req.tenant,
      cluster: pair.first,
      replica: pair.second,
      nowMs: deps.now(),
      failoverTimeoutMs: failoverMs(l.ha_tracker_failover_timeout),
      maxClusters: l.ha_max_clusters,
    };
    const verdict = deps.ha.elect(question);
    if (verdict instanceof Promise) return verdict.then((v) => afterElection(v, question, s, deps));
    return afterElection(verdict, question, s, deps);
  },
};

function afterElection(
  verdict: HaVerdict,
  question: HaQuestion,
  s: WriteState,
  deps: StageDeps,
): StageOutcome | Promise<StageOutcome> {
  const { resolved, dryRun } = s;
  const haMetric = deps.metrics.haDecisions;
  if (verdict.kind === 'accept') {
    haMetric.labels(verdict.failover ? 'failover' : verdict.newCluster ? 'elected' : 'accepted').inc();
    if (verdict.failover)
      deps.log.info(
        {
          request_id: s.req.requestId,
          tenant: question.tenant,
          cluster: question.cluster,
          elected: verdict.elected,
        },
        'HA failover: the elected replica was silent for the failover timeout',
      );
    s.haReplicaLabel = resolved.limits.ha_replica_label;
    return s;
  }
  if (verdict.kind === 'too_many_clusters') {
    haMetric.labels('too_many_clusters').inc();
    const d = denial(
      'ha_too_many_clusters',
      haTooManyClustersMessage(verdict.limit),
      verdict.limit,
      verdict.limit + 1,
    );
    return isEnforced(resolved.enforcement, 'ha_max_clusters', dryRun) ? d : s;
  }
  if (!isEnforced(resolved.enforcement, 'accept_ha_samples', dryRun)) {
    haMetric.labels('deduplicated_observed').inc();
    return s;
  }
  haMetric.labels('deduplicated').inc();
  const deduplicated = denial(
    'ha_deduplicated',
    haDeduplicatedMessage(question.replica, verdict.elected),
    0,
    0,
  );
  // The request was charged before its body was read (request-rate): nothing is left to take.
  if (s.requestTaken !== undefined) return deduplicated;
  const query = rateQuery(resolved, 0, dryRun);
  return take(deps, question.tenant, query, (a) => {
    const rated = decideRates(resolved, query, a, dryRun, undefined);
    return rated.allowed ? deduplicated : rated;
  });
}
