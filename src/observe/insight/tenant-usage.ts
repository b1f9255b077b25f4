// What the burst detector and the cost metrics read from the per-tenant counters: plain iterations over
// TrafficStats, run on a timer or at scrape time, never on the write path.

import type { TrafficStats } from '../traffic-stats.js';
import type { TenantUsage } from './insight-series.js';

/** Each tracked tenant's cumulative offered items (accepted and denied): what a burst is measured on. */
export function* offeredItems(stats: TrafficStats): IterableIterator<readonly [string, number]> {
  for (const [tenant, c] of stats.entries()) yield [tenant, c.samplesAllowed + c.samplesDenied];
}

/** Each tracked tenant's cumulative accepted items and compressed bytes: what cost is charged on. */
export function* acceptedUsage(stats: TrafficStats): IterableIterator<TenantUsage> {
  for (const [tenant, c] of stats.entries())
    yield { tenant, samples: c.samplesAllowed, bytes: c.bytesCompressed };
}
