// One tenant's active series (GET /api/active-series/{id}, or the tenant detail's active_series): the estimate
// against max_global_series_per_user, the time to reach it at the last hour's growth, new series per minute and
// the metric names bringing them. docs/active-series.md says how the figures are made.
import { UtilBar } from './util-bar.js';
import { formatBytes, formatNumber } from '../logic/format.js';

export interface ActiveSeries {
  tenant: string;
  active_series: number;
  shared: boolean;
  max_global_series_per_user: number;
  utilisation: number;
  growth_per_minute: number;
  seconds_to_limit: number | null;
  new_series_last_minute: number;
  new_series_per_minute_10m: number;
  new_series_total: number;
  top_new_metrics: { name: string; new_series: number; error: number }[];
  new_series_refused_requests: number;
  memory_bytes: number;
  sample_every: number;
}

/** "in 3 h 20 min", "now", or "not growing". */
export function timeToLimitText(seconds: number | null, limit: number): string {
  if (limit <= 0) return 'no limit';
  if (seconds === null) return 'not growing';
  if (seconds <= 0) return 'reached';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours >= 48 ? `in ${Math.round(hours / 24)} days` : `in ${hours} h ${minutes % 60} min`;
}

export function ActiveSeriesCard({ s }: { s: ActiveSeries }) {
  const limit = s.max_global_series_per_user;
  return (
    <section className="card" data-testid="active-series">
      <h3>Active series</h3>
      <div className="stats">
        <div className="stat">
          <strong>{formatNumber(s.active_series)}</strong>
          <span>
            active series{' '}
            {limit > 0 ? `of ${formatNumber(limit)} (max_global_series_per_user)` : '(no limit)'}
            {s.shared ? ', all replicas' : ', this replica'}
          </span>
        </div>
        {limit > 0 && (
          <div className="stat">
            <UtilBar pct={s.utilisation * 100} label="series limit used" />
            <span>of the series limit</span>
          </div>
        )}
        <div className="stat">
          <strong>{timeToLimitText(s.seconds_to_limit, limit)}</strong>
          <span>to the limit ({formatNumber(s.growth_per_minute)} series/min over the last hour)</span>
        </div>
        <div className="stat">
          <strong>{formatNumber(s.new_series_per_minute_10m)}</strong>
          <span>new series/min (10 min); {formatNumber(s.new_series_last_minute)} in the last minute</span>
        </div>
      </div>
      {s.top_new_metrics.length > 0 && (
        <p className="reasons" data-testid="top-new-metrics">
          New series by metric:{' '}
          {s.top_new_metrics.map((m) => (
            <span
              key={m.name}
              className="reason"
              title={m.error > 0 ? `may include up to ${m.error} of others` : ''}
            >
              {m.name || '(no name)'}: {formatNumber(m.new_series)}
            </span>
          ))}
        </p>
      )}
      <p className="hint">
        Estimated over Mimir&apos;s active-series window (HyperLogLog, about 1% error); one write in{' '}
        {s.sample_every} is read.{' '}
        {s.new_series_refused_requests > 0 &&
          `${s.new_series_refused_requests} writes had new series refused. `}
        Memory for this tenant: {formatBytes(s.memory_bytes)}.
      </p>
    </section>
  );
}
