// Active series at the edge: every tracked tenant's estimated active series against
// max_global_series_per_user, the time to reach it, its new-series rate and the metrics bringing new series,
// and the top offenders by series growth (GET /api/active-series).
import { timeToLimitText } from '../components/active-series-card.js';
import type { ActiveSeries } from '../components/active-series-card.js';
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { UtilBar } from '../components/util-bar.js';
import { formatBytes, formatNumber } from '../logic/format.js';
import { Link } from '../router.js';
import { usePoll } from '../session.js';

interface Growth {
  tenant: string;
  new_series_per_minute_10m: number;
  new_series_last_minute: number;
  active_series: number;
  top_new_metrics: { name: string; new_series: number }[];
}

interface ActiveSeriesList {
  enabled: boolean;
  window_seconds?: number;
  sample_every?: number;
  tracked_tenants: number;
  memory_bytes: number;
  tenants: ActiveSeries[];
  top_growth: Growth[];
}

const tenantLink = (tenant: string) => <Link to={`/tenants/${encodeURIComponent(tenant)}`}>{tenant}</Link>;

export function ActiveSeriesPage() {
  const { data, error } = usePoll<ActiveSeriesList>('/api/active-series?sort=utilisation', 10000);
  return (
    <div className="page">
      <header className="page-head">
        <h2>Active series</h2>
      </header>
      <p className="hint">
        Series each tenant sent within Mimir&apos;s active-series window, estimated at the edge, against
        max_global_series_per_user; new series are series not seen within the window before.
        {data?.enabled &&
          ` Window ${Math.round((data.window_seconds ?? 0) / 60)} min; one write in ${data.sample_every} read; ${data.tracked_tenants} tenants tracked in ${formatBytes(data.memory_bytes)}.`}
      </p>
      {error && <ErrorBox message={error} />}
      {!data ? (
        !error && <Loading what="active series" />
      ) : !data.enabled ? (
        <Empty>Active series are off (ACTIVE_SERIES_ENABLED=false).</Empty>
      ) : data.tenants.length === 0 ? (
        <Empty>No writes within the window.</Empty>
      ) : (
        <>
          <h3>Top offenders by series growth</h3>
          {data.top_growth.length === 0 ? (
            <Empty>No tenant brought new series in the last 10 minutes.</Empty>
          ) : (
            <div className="table-wrap">
              <table data-testid="top-growth">
                <thead>
                  <tr>
                    <th>Tenant</th>
                    <th>New series/min (10 min)</th>
                    <th>Last minute</th>
                    <th>Active series</th>
                    <th>Metrics bringing them</th>
                  </tr>
                </thead>
                <tbody>
                  {data.top_growth.map((g) => (
                    <tr key={g.tenant}>
                      <td>{tenantLink(g.tenant)}</td>
                      <td>{formatNumber(g.new_series_per_minute_10m)}</td>
                      <td>{formatNumber(g.new_series_last_minute)}</td>
                      <td>{formatNumber(g.active_series)}</td>
                      <td>
                        {g.top_new_metrics.map((m) => `${m.name} (${formatNumber(m.new_series)})`).join(', ')}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h3>By utilisation of max_global_series_per_user</h3>
          <div className="table-wrap">
            <table data-testid="active-series-table">
              <thead>
                <tr>
                  <th>Tenant</th>
                  <th>Active series</th>
                  <th>Limit</th>
                  <th>Used</th>
                  <th>To the limit</th>
                  <th>New series/min</th>
                </tr>
              </thead>
              <tbody>
                {data.tenants.map((s) => (
                  <tr key={s.tenant}>
                    <td>{tenantLink(s.tenant)}</td>
                    <td>{formatNumber(s.active_series)}</td>
                    <td>
                      {s.max_global_series_per_user > 0 ? formatNumber(s.max_global_series_per_user) : 'none'}
                    </td>
                    <td>
                      {s.max_global_series_per_user > 0 ? (
                        <UtilBar pct={s.utilisation * 100} label="used" />
                      ) : (
                        '–'
                      )}
                    </td>
                    <td>{timeToLimitText(s.seconds_to_limit, s.max_global_series_per_user)}</td>
                    <td>{formatNumber(s.new_series_per_minute_10m)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
