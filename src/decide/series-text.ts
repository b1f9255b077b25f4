// Pieces of a series as Mimir's messages quote it, cut from the edge's describeSeries() text (error path only).

/** describeSeries() wraps the label set as `series: '…'`; the validation messages quote it themselves. */
export function bareSeries(described: string): string {
  return described.startsWith("series: '") && described.endsWith("'") ? described.slice(9, -1) : described;
}

/** The metric name of a label set as Mimir prints it (`name{…}`). */
export function metricNameOf(labelSet: string): string {
  const brace = labelSet.indexOf('{');
  return brace < 0 ? labelSet : labelSet.slice(0, brace);
}
