// How long a penalty block has left, as the Blocks page says it: "2h 5m", "9m 59s", "12s". No DOM use, so
// the unit tests load it under Node.

/** Whole seconds left → the two largest units, truncated (a block never looks shorter than it is by more than a unit). */
export function remainingText(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s >= 86_400) return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${s}s`;
}
