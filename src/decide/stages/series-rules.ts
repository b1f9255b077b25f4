// Stage of the write pipeline (src/decide/write-pipeline.ts): drop_labels, then Mimir's per-series validation
// (src/decide/mimir-rules.ts), in one exact pass that runs only when the scan's bounds say a series could fail
// or a label must go. With partial_acceptance the valid series go on as the request and the 400 owed for the
// rest rides on the decision; without it, or with nothing valid left, the request is refused here. A request the
// enforced rules leave whole is judged again for the rules only observed: what they would refuse is a would-deny.

import { mimirView } from '../mimir-rules.js';
import { observedSeriesRules } from '../observed-series-rules.js';
import type { WriteStage } from '../write-request.js';

export const seriesRules: WriteStage = {
  name: 'drop_labels, validation',
  run(s, deps) {
    const gzipped = s.req.contentEncoding?.trim().toLowerCase() === 'gzip';
    const now = deps.now();
    const view = mimirView(s.resolved, s.measured, s.dryRun, s.haReplicaLabel, now, gzipped);
    if (view?.refusal) return view.refusal;
    if (view?.partial === undefined) {
      s.seriesObserved = observedSeriesRules(s.resolved, s.measured, s.dryRun, s.haReplicaLabel, now);
    }
    if (view === undefined) return s;
    s.view = view;
    s.info = view.info;
    return s;
  },
};
