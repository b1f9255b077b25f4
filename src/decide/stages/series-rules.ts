// Stage of the write pipeline (src/decide/write-pipeline.ts): drop_labels, then Mimir's per-series validation
// (src/decide/mimir-rules.ts), in one exact pass that runs only when the scan's bounds say a series could fail
// or a label must go. With partial_acceptance the valid series go on as the request and the 400 owed for the
// rest rides on the decision; without it, or with nothing valid left, the request is refused here.

import { mimirView } from '../mimir-rules.js';
import type { WriteStage } from '../write-request.js';

export const seriesRules: WriteStage = {
  name: 'drop_labels, validation',
  run(s, deps) {
    const gzipped = s.req.contentEncoding?.trim().toLowerCase() === 'gzip';
    const view = mimirView(s.resolved, s.measured, s.dryRun, s.haReplicaLabel, deps.now(), gzipped);
    if (view === undefined) return s;
    if (view.refusal) return view.refusal;
    s.view = view;
    s.info = view.info;
    return s;
  },
};
