// Fixed-window arithmetic as envoyproxy/ratelimit does it: windows aligned to the Unix epoch in whole
// units (second … year), reset = unit − now mod unit. Pure: time is passed in.

/** Start of the window holding `nowMs`, in whole seconds since the epoch. */
export function windowStartSeconds(nowMs: number, unitSeconds: number): number {
  const now = Math.floor(nowMs / 1000);
  return now - (now % unitSeconds);
}

/** Whole seconds until the window holding `nowMs` ends (1…unitSeconds). */
export function secondsUntilReset(nowMs: number, unitSeconds: number): number {
  const now = Math.floor(nowMs / 1000);
  return unitSeconds - (now % unitSeconds);
}
