// Cardinality: series per request and label counts by tenant, against their limits, with violations.
import { useState } from 'react';
import type { Range } from '../api.js';
import { RangePicker } from '../components/range-picker.js';
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { formatNumber } from '../logic/format.js';
import { Link } from '../router.js';
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
  const [range, setRange] = useState<Range>('1h');
  const { data, error } = usePoll<{ tenants: Row[] }>(`/api/cardinality?range=${range}`, 10000);
  return (
    <div className="page">
      <header className="page-head">
        <h2>Cardinality</h2>
        <RangePicker value={range} onChange={setRange} />
      </header>
      {error && <ErrorBox message={error} />}
      {!data ? (
        !error && <Loading what="cardinality" />
      ) : data.tenants.length === 0 ? (
        <Empty>No write requests in this range.</Empty>
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
