// Series per request: how many series each write request carries and the most labels on one series, by
// tenant, against their limits, with violations. Not active series: Mimir counts those, the edge does not.
import { RangePicker } from '../components/range-picker.js';
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { formatNumber } from '../logic/format.js';
import { Link, useRange } from '../router.js';
import { usePoll } from '../session.js';

interface Row {
  tenant: string;
  requests: number;
  avg_series_per_request: number;
  max_series_per_request: number;
  max_label_names: number;
  limits: { max_series_per_request: number; max_label_names_per_series: number };
  violations: Record<string, number>;
}

export function CardinalityPage() {
  const [range, setRange] = useRange();
  const { data, error } = usePoll<{ tenants: Row[] }>(`/api/cardinality?range=${range}`, 10000);
  return (
    <div className="page">
      <header className="page-head">
        <h2>Series per request</h2>
        <RangePicker value={range} onChange={setRange} />
      </header>
      <p className="hint">
        Series per write request and labels per series, as the edge measures them in each request. These are
        not active series (Mimir counts those over time, across requests); they show which senders batch many
        series or carry many labels, against max_series_per_request and max_label_names_per_series.
      </p>
      {error && <ErrorBox message={error} />}
      {!data ? (
        !error && <Loading what="series per request" />
      ) : data.tenants.length === 0 ? (
        <Empty>No traffic in this range.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Tenant</th>
                <th>Avg series/request</th>
                <th>Max series/request</th>
                <th>Max labels/series</th>
                <th>Violations</th>
              </tr>
            </thead>
            <tbody>
              {data.tenants.map((r) => {
                const v = Object.entries(r.violations).filter(([, n]) => n > 0);
                return (
                  <tr key={r.tenant}>
                    <td>
                      <Link to={`/tenants/${encodeURIComponent(r.tenant)}`}>{r.tenant}</Link>
                    </td>
                    <td>{formatNumber(r.avg_series_per_request)}</td>
                    <td>
                      {formatNumber(r.max_series_per_request)} /{' '}
                      {formatNumber(r.limits.max_series_per_request)}
                    </td>
                    <td>
                      {r.max_label_names} / {r.limits.max_label_names_per_series}
                    </td>
                    <td className={v.length ? 'bad' : ''}>
                      {v.length ? v.map(([k, n]) => `${k}: ${n}`).join(', ') : 'none'}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
