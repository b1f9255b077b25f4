// Stage of the write pipeline (src/decide/write-pipeline.ts): max_global_series_per_user at the edge, for a tenant
// with enforce_max_series_at_edge: true (off by default). Once the tenant's estimated active series
// (src/observe/active-series/) reach the limit, the series of a write that the edge has not seen within the window
// are refused with Mimir's 400 (err-mimir-max-series-per-user), and the known ones go on as the request (partial
// acceptance, as for invalid series). Under the limit, or for any other tenant, it costs two comparisons.

import { denial, maxSeriesPerUserMessage, observedOnly } from '../../decision/catalogue.js';
import { limitIs } from '../../limits/limit-definitions.js';
import { isEnforced } from '../../limits/tenant-limits.js';
import {
  decompressSnappyBlock,
  reencodeKept,
  scanWriteRequest,
  scanWriteRequestV2,
} from '../../remote-write/index.js';
import type { WriteStage } from '../write-request.js';

export const maxSeries: WriteStage = {
  name: 'max_global_series_per_user',
  run(s, deps) {
    const tracker = deps.activeSeries;
    const l = s.resolved.limits;
    if (tracker === undefined || l.max_global_series_per_user <= 0) return s;
    if (!limitIs(l, 'enforce_max_series_at_edge', 'true')) return s;
    const tenant = s.req.tenant;
    const now = deps.now();
    const limit = l.max_global_series_per_user;
    const active = tracker.activeSeries(tenant, now);
    if (active < limit) return s;
    // Another partial forward (invalid series) is decided first; its part is not checked again here.
    if (s.view?.partial !== undefined) return s;
    const { info, decoded } = s.measured;
    const isNew = tracker.newSeries(tenant, decoded, info.format, info.series, now);
    let refused = 0;
    for (let i = 0; i < isNew.length; i++) refused += isNew[i]!;
    if (refused === 0) return s;
    const refusal = denial(
      'max_series_per_user',
      maxSeriesPerUserMessage(limit, active, refused, info.series),
      limit,
      active,
    );
    if (!isEnforced(s.resolved.enforcement, 'max_global_series_per_user', s.dryRun)) {
      s.observed ??= observedOnly(refusal);
      return s;
    }
    tracker.refused(tenant);
    // OTLP is decided whole at the edge, and a write of only new series has nothing left to forward.
    if ((info.format !== 'prw1' && info.format !== 'prw2') || refused === info.series) return refusal;
    const keep = new Uint8Array(isNew.length);
    for (let i = 0; i < keep.length; i++) keep[i] = 1 - isNew[i]!;
    const body = reencodeKept(decoded, info.format, keep);
    // The known part as a request of its own, for its cost: this path runs only for a tenant over its limit.
    const part = decompressSnappyBlock(body, Number.MAX_SAFE_INTEGER);
    const kept =
      info.format === 'prw1' ? scanWriteRequest(part, body.length) : scanWriteRequestV2(part, body.length);
    s.info = kept;
    s.view = { info: kept, partial: { body, refusal } };
    return s;
  },
};
