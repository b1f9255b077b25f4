// Durations as policy files write them ("500ms", "1s", "1m", "1h", "1d") or as milliseconds.
// Never guesses: anything else is an error that names the value.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration in ms: a number of ms, or a string such as "1.5s", "10m", "1h30m". */
export type Duration = number | string;

/** Milliseconds of `d`, or undefined when it is not a positive, finite duration. */
export function durationMs(d: Duration): number | undefined {
  if (typeof d === 'number') return Number.isFinite(d) && d > 0 ? d : undefined;
  const text = d.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total > 0 ? total : undefined;
}
