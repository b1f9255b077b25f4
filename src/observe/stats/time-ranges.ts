// The time ranges the admin API and UI offer (document 000's 1m … 7d), and the ring-buffer tiers that
// serve them: each tier is a fixed number of fixed-width buckets. Pure data; never touches the clock.

export const RANGES = ['1m', '5m', '15m', '1h', '24h', '7d'] as const;
export type RangeName = (typeof RANGES)[number];

export const RANGE_MS: Readonly<Record<RangeName, number>> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 604_800_000,
};

export function isRangeName(value: unknown): value is RangeName {
  return typeof value === 'string' && (RANGES as readonly string[]).includes(value);
}

/** One ring of `buckets` buckets of `widthMs` each; it remembers `widthMs * buckets` of history. */
export interface Tier {
  readonly widthMs: number;
  readonly buckets: number;
}

/** Fine tiers for the one overall series: charts of the last minute still get a point per second. */
export const TOTAL_TIERS: readonly Tier[] = [
  { widthMs: 1_000, buckets: 900 },
  { widthMs: 10_000, buckets: 360 },
  { widthMs: 300_000, buckets: 288 },
  { widthMs: 1_800_000, buckets: 336 },
];

/** Coarser tiers per tenant, so 10,000 tenants stay within tens of megabytes (see bytesPerTenant()). */
export const TENANT_TIERS: readonly Tier[] = [
  { widthMs: 15_000, buckets: 60 },
  { widthMs: 120_000, buckets: 30 },
  { widthMs: 1_800_000, buckets: 48 },
  { widthMs: 14_400_000, buckets: 42 },
];

/** Index of the finest tier of `tiers` whose history covers `rangeMs`. */
export function tierFor(tiers: readonly Tier[], rangeMs: number): number {
  for (let i = 0; i < tiers.length; i++) {
    const t = tiers[i]!;
    if (t.widthMs * t.buckets >= rangeMs) return i;
  }
  return tiers.length - 1;
}
