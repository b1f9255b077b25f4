// Denials: the trend per bucket by reason, counts by reason and by tenant, and the denials grouped by
// tenant, reason and message (numbers as N) with counts and first/last seen: a storm of one denial is one
// row, linking to the tenant, instead of hundreds of copies of the same message.
import type { Flow } from '../api.js';
import { RangePicker } from '../components/range-picker.js';
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { TimeChart } from '../components/time-chart.js';
import { column, xValues } from '../logic/chart-data.js';
import { formatNumber, formatTime } from '../logic/format.js';
import { Link, useRange } from '../router.js';
import { usePoll } from '../session.js';

interface Denials {
  denied: number;
  denied_by_reason: Record<string, number>;
  would_deny_by_reason: Record<string, number>;
  by_tenant: { tenant: string; denied: number }[];
}

interface Group {
  tenant: string | null;
  reason: string;
  would_deny: boolean;
  status: number;
  message_pattern: string;
  last_message: string;
  count: number;
  first_seen: string;
  last_seen: string;
}

const COLORS = ['#e03131', '#f08c00', '#7048e8', '#1971c2', '#0c8599', '#5c940d'];

export function DenialsPage() {
  const [range, setRange] = useRange();
  const d = usePoll<Denials>(`/api/denials?range=${range}&limit=1`, 5000);
  const groups = usePoll<{ groups: Group[] }>(`/api/denials/groups?range=${range}&limit=200`, 5000);
  const flow = usePoll<Flow>(`/api/timeseries/${range}/flow`, 5000);
  const f = flow.data;
  const reasons = Object.keys(f?.denied_by_reason ?? {});
  const since = f?.since ? Date.parse(f.since) : -Infinity;
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
          {f && (
            <TimeChart
              title="Denials per second by reason"
              unit="denials/s"
              bucketSeconds={f.bucket_seconds}
              x={xValues(f.points)}
              testId="chart-denials"
              series={
                reasons.length
                  ? reasons.map((r, i) => ({
                      name: r,
                      color: COLORS[i % COLORS.length]!,
                      values: column(
                        f.points,
                        (_p, k) => (f.denied_by_reason[r]![k] ?? 0) / f.bucket_seconds,
                      ),
                    }))
                  : [
                      {
                        name: 'denied',
                        color: COLORS[0]!,
                        values: column(
                          f.points,
                          (p) => p.denied / f.bucket_seconds,
                          since,
                          f.bucket_seconds * 1000,
                        ),
                      },
                    ]
              }
            />
          )}
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
                      <code>{r}</code>: {formatNumber(n)}
                    </li>
                  ))}
                  {Object.entries(d.data.would_deny_by_reason).map(([r, n]) => (
                    <li key={`w-${r}`}>
                      <code>{r}</code> (observed only): {formatNumber(n)}
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
                      <span>{formatNumber(t.denied)}</span>
                    </li>
                  ))}
                </ol>
              )}
            </section>
          </div>
          <section className="card">
            <h3>Grouped by tenant, reason and message</h3>
            {groups.error && <ErrorBox message={groups.error} />}
            {!groups.data ? (
              !groups.error && <Loading what="denial groups" />
            ) : groups.data.groups.length === 0 ? (
              <Empty>No denials in this range.</Empty>
            ) : (
              <div className="table-wrap">
                <table data-testid="denial-groups" className="denial-groups">
                  <thead>
                    <tr>
                      <th>Tenant</th>
                      <th>Reason</th>
                      <th>Count</th>
                      <th>First seen</th>
                      <th>Last seen</th>
                      <th>Message (newest)</th>
                    </tr>
                  </thead>
                  <tbody>
                    {groups.data.groups.map((g) => (
                      <tr
                        key={`${g.tenant ?? ''}|${g.reason}|${g.would_deny}|${g.message_pattern}`}
                        data-group-tenant={g.tenant ?? ''}
                      >
                        <td>
                          {g.tenant ? (
                            <Link to={`/tenants/${encodeURIComponent(g.tenant)}`}>{g.tenant}</Link>
                          ) : (
                            '(no tenant)'
                          )}
                        </td>
                        <td>
                          {g.reason}
                          {g.would_deny ? ' (observed only)' : ` (${g.status})`}
                        </td>
                        <td className="count">{formatNumber(g.count)}</td>
                        <td>{formatTime(g.first_seen)}</td>
                        <td>{formatTime(g.last_seen)}</td>
                        <td className="message">{g.last_message}</td>
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
