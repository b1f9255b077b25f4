// Number and time formatting for the UI: short, unit-bearing, never "NaN".

export function formatNumber(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(digits)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(digits)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(digits)}k`;
  if (Number.isInteger(n)) return String(n);
  return n.toFixed(abs < 1 ? 3 : digits);
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

export function formatPct(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(n >= 10 ? 0 : 1)}%` : '–';
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '–' : d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

/** The unit a numeric limit is counted in, so "In force" never shows a bare 52.4M. */
const LIMIT_UNITS: Record<string, string> = {
  ingestion_rate: 'samples/s',
  ingestion_burst_size: 'samples',
  request_rate: 'req/s',
  request_burst_size: 'requests',
  max_label_names_per_series: 'labels',
  max_label_name_length: 'chars',
  max_label_value_length: 'chars',
  max_series_per_request: 'series',
  max_global_exemplars_per_user: 'exemplars',
  max_exemplars_per_series_per_request: 'exemplars',
  max_metadata_length: 'bytes',
  ha_max_clusters: 'clusters',
};

/** A numeric limit with its unit: bytes as KiB/MiB, counts with what they count. */
export function formatLimitNumber(name: string, value: number): string {
  if (name.endsWith('_bytes')) return formatBytes(value);
  const unit = LIMIT_UNITS[name];
  return unit ? `${formatNumber(value)} ${unit}` : formatNumber(value);
}
