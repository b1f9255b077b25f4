// The time range every page shows, kept in the URL (?range=15m) so a view survives a reload and can be
// shared, with one default for every page. Pure functions over the path string; the router applies them.

export const RANGE_NAMES = ['1m', '5m', '15m', '1h', '24h', '7d'] as const;
export type RangeName = (typeof RANGE_NAMES)[number];

/** The range every page starts with: long enough for a trend, short enough that buckets are 15 s. */
export const DEFAULT_RANGE: RangeName = '15m';

export function isRange(value: string | null | undefined): value is RangeName {
  return value !== null && value !== undefined && (RANGE_NAMES as readonly string[]).includes(value);
}

/** The range a path (with its query) names, or the default when it names none or an unknown one. */
export function rangeOf(path: string): RangeName {
  const q = path.indexOf('?');
  if (q === -1) return DEFAULT_RANGE;
  const value = new URLSearchParams(path.slice(q + 1)).get('range');
  return isRange(value) ? value : DEFAULT_RANGE;
}

/** `path` with its range set to `range`; other query parameters are kept, the default range is left out. */
export function withRange(path: string, range: RangeName): string {
  const q = path.indexOf('?');
  const base = q === -1 ? path : path.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : path.slice(q + 1));
  if (range === DEFAULT_RANGE) params.delete('range');
  else params.set('range', range);
  const query = params.toString();
  return query ? `${base}?${query}` : base;
}

/** A link target that keeps the current page's range, unless the target names its own query. */
export function carryRange(to: string, currentPath: string): string {
  if (to.includes('?')) return to;
  return withRange(to, rangeOf(currentPath));
}

/** Bucket width in words, for chart captions: "15 s", "2 min", "4 h". */
export function bucketText(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${seconds / 60} min`;
  return `${seconds / 3600} h`;
}
