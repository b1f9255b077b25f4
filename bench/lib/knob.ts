// Benchmark knobs: a number from an environment variable, or the default; a bad value stops the run with a
// message naming the variable, rather than benchmarking something nobody asked for.

export interface KnobRule {
  /** Accept 0 (e.g. "no wait"). */
  zeroAllowed?: boolean;
  /** Require a whole number (counts). */
  whole?: boolean;
}

export function knob(name: string, fallback: number, rule: KnobRule = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  const kind = `${rule.zeroAllowed ? 'non-negative' : 'positive'}${rule.whole ? ' whole' : ''} number`;
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !rule.zeroAllowed) || (rule.whole && !Number.isInteger(n)))
    throw new Error(`${name} must be a ${kind}, got ${raw}`);
  return n;
}
