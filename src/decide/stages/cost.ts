// Stage of the write pipeline (src/decide/write-pipeline.ts): what the write costs, counted as Mimir's distributor
// counts it (src/decide/mimir-rules.ts mimirCost: samples, histogram samples, metadata, exemplars when Mimir keeps
// them), and the take from the tenant's buckets that charges it.

import { mimirCost } from '../mimir-rules.js';
import type { WriteStage } from '../write-request.js';
import { rateQuery } from './rates.js';

export const cost: WriteStage = {
  name: 'cost',
  run(s) {
    const query = rateQuery(s.resolved, mimirCost(s.info, s.resolved.limits), s.dryRun);
    // Charged before the body was read (request-rate): only the ingestion bucket is left to take.
    if (s.requestTaken !== undefined) query.requestRate = 0;
    s.query = query;
    return s;
  },
};
