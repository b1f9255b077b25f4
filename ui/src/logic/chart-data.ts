// Turns the admin API's chart points into the columns a time series chart draws: x in seconds, one array
// per series, and the still-filling bucket (partial) left out as null so a live chart does not fall to zero
// at its right edge. Also the "latest" value a legend shows: the newest finished bucket, not the live one.

export interface ApiPoint {
  time: string;
  partial?: boolean;
}

/** Seconds since the epoch of every point, as the chart's x axis. */
export function xValues(points: readonly ApiPoint[]): number[] {
  return points.map((p) => Date.parse(p.time) / 1000);
}

/**
 * `pick` of every finished point; null for the bucket still filling, for buckets that ended before measuring
 * started (`sinceMs`: unknown, not zero) and for missing values.
 */
export function column<P extends ApiPoint>(
  points: readonly P[],
  pick: (p: P, i: number) => number | undefined,
  sinceMs = -Infinity,
  bucketMs = 0,
): (number | null)[] {
  return points.map((p, i) => {
    if (p.partial === true) return null;
    if (Date.parse(p.time) + bucketMs <= sinceMs) return null;
    const v = pick(p, i);
    return v === undefined || !Number.isFinite(v) ? null : v;
  });
}

/** The newest non-null value, for a legend; null when there is none yet. */
export function latest(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

/** True when no finished bucket has a value above zero: the chart says "No traffic in this range.". */
export function allEmpty(series: readonly (readonly (number | null)[])[]): boolean {
  return series.every((values) => values.every((v) => v === null || v === 0));
}
