// Stages of the write pipeline (src/decide/write-pipeline.ts): selective_filtering (src/decide/selective-filter.ts),
// an edge option Mimir does not have. Before the static limits, a retry of a request the edge delivered in part is
// decided as its rest (selectiveResume). After the rates, a write over its ingestion budget has the series that
// fit forwarded and gets 429 with Retry-After for the rest (selectiveFilter). Only the proxy offers it, and only for
// a request Mimir's per-series rules left whole: it needs a body it can replace.

import { selectiveApplies } from '../selective-filter.js';
import type { WriteStage } from '../write-request.js';
import { take } from './rates.js';

export const selectiveResume: WriteStage = {
  name: 'selective_filtering (retry)',
  run(s, deps) {
    // A request Mimir's rules only count differently (samples it keeps once) is still whole; one they cut is not.
    const cut = s.view !== undefined && s.view.countsOnly !== true;
    if (cut || s.req.transport !== 'http' || !selectiveApplies(s.resolved, s.measured)) return s;
    s.selective = true;
    s.resumed = deps.selective.resume(s.req.tenant, s.resolved, s.measured, deps.now());
    if (s.resumed) s.info = s.resumed.rest.info;
    return s;
  },
};

export const selectiveFilter: WriteStage = {
  name: 'selective_filtering',
  run(s, deps) {
    const { decided, query, answer } = s;
    if (!s.selective || decided === undefined || query === undefined || answer === undefined) return s;
    if (decided.allowed)
      return s.resumed ? deps.selective.completing(s.resumed, s.measured, decided) : decided;
    const plan = deps.selective.plan(s.resolved, s.measured, query, answer, decided, s.resumed);
    if (!plan) return decided;
    const tenant = s.req.tenant;
    // The second take: only the part that fits, forwarded with a 429 for the rest, or the whole 429.
    return take(deps, tenant, plan.query, (a) => {
      const d = deps.selective.decision(tenant, plan, s.measured, query, a, decided, deps.now);
      if (!d.partial) {
        deps.metrics.selectiveFilter.labels('tokens_gone').inc();
        return d;
      }
      deps.metrics.selectiveFilter.labels('part_forwarded').inc();
      deps.log.info(
        {
          request_id: s.req.requestId,
          tenant,
          reason: 'ingestion_rate',
          forwarded_series: plan.info.series,
          delivered_series: plan.skip + plan.info.series,
          series: s.measured.info.series,
          forwarded_items: plan.cost,
          observed: query.cost,
        },
        'selective filtering: forwarding the series that fit, 429 for the rest',
      );
      s.info = plan.info;
      return d;
    });
  },
};
