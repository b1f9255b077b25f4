// Denials: recent denials (and "would deny"), counts by reason and by tenant, and the trend per bucket.
import { useState } from 'react';
import type { Range } from '../api.js';
import { LineChart } from '../components/line-chart.js';
import { RangePicker } from '../components/range-picker.js';
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { formatTime } from '../logic/format.js';
import { Link } from '../router.js';
import { usePoll } from '../session.js';

interface Denials {
  denied: number;
  denied_by_reason: Record<string, number>;
  would_deny_by_reason: Record<string, number>;
  by_tenant: { tenant: string; denied: number }[];
  recent: {
    time: string;
    tenant: string | null;
    reason: string;
    status: number;
    would_deny: boolean;
    message: string;
  }[];
}

interface Trends {
  points: { time: string; denied: number; by_reason: Record<string, number> }[];
}

const COLORS = ['#e03131', '#f08c00', '#7048e8', '#1971c2', '#0c8599', '#5c940d'];

export function DenialsPage() {
  const [range, setRange] = useState<Range>('1h');
  const d = usePoll<Denials>(`/api/denials?range=${range}&limit=200`, 5000);
  const trends = usePoll<Trends>(`/api/denials/trends?range=${range}`, 5000);
  const reasons = Object.keys(trends.data?.points[0]?.by_reason ?? {});
  const points = trends.data?.points ?? [];
  return (
    <div className="page">
      <header className="page-head">
        <h2>Denials</h2>
        <RangePicker value={range} onChange={setRange} />
      </header>
      {d.error && <ErrorBox message={d.error} />}
      {!d.data ? (
        !d.error && <Loading what="denials" />
      ) : (
        <>
          <LineChart
            title="Denials per bucket"
            labels={
              points.length
                ? [points[0]!.time.slice(11, 16), points[points.length - 1]!.time.slice(11, 16)]
                : []
            }
            series={
              reasons.length
                ? reasons.map((r, i) => ({
                    name: r,
                    color: COLORS[i % COLORS.length]!,
                    values: points.map((p) => p.by_reason[r] ?? 0),
                  }))
                : [{ name: 'denied', color: COLORS[0]!, values: points.map((p) => p.denied) }]
            }
          />
          <div className="grid2">
            <section className="card">
              <h3>By reason</h3>
              {Object.keys(d.data.denied_by_reason).length === 0 &&
              Object.keys(d.data.would_deny_by_reason).length === 0 ? (
                <Empty>No denials in this range.</Empty>
              ) : (
                <ul>
                  {Object.entries(d.data.denied_by_reason).map(([r, n]) => (
                    <li key={r}>
                      <code>{r}</code>: {n}
                    </li>
                  ))}
                  {Object.entries(d.data.would_deny_by_reason).map(([r, n]) => (
                    <li key={`w-${r}`}>
                      <code>{r}</code> (observed only): {n}
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section className="card">
              <h3>By tenant</h3>
              {d.data.by_tenant.length === 0 ? (
                <Empty>No tenant was denied in this range.</Empty>
              ) : (
                <ol className="top">
                  {d.data.by_tenant.map((t) => (
                    <li key={t.tenant}>
                      <Link to={`/tenants/${encodeURIComponent(t.tenant)}`}>{t.tenant}</Link>
                      <span>{t.denied}</span>
                    </li>
                  ))}
                </ol>
              )}
            </section>
          </div>
          <section className="card">
            <h3>Recent</h3>
            {d.data.recent.length === 0 ? (
              <Empty>Nothing denied recently.</Empty>
            ) : (
              <div className="table-wrap">
                <table data-testid="recent-denials">
                  <thead>
                    <tr>
                      <th>Time</th>
                      <th>Tenant</th>
                      <th>Reason</th>
                      <th>Status</th>
                      <th>Message</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.data.recent.map((e, i) => (
                      <tr key={i}>
                        <td>{formatTime(e.time)}</td>
                        <td>{e.tenant ?? '(none)'}</td>
                        <td>
                          {e.reason}
                          {e.would_deny ? ' (observed only)' : ''}
                        </td>
                        <td>{e.would_deny ? 'forwarded' : e.status}</td>
                        <td className="message">{e.message}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </div>
  );
}
