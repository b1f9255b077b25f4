// Cost and behaviour: each tenant's accepted items and bytes over the range at the configured prices
// (exported by the API as CSV or JSON), the top offenders by denials, cost and series growth, and the tenants
// bursting now or lately against their own baseline.
import { useState } from 'react';
import type { Burst } from '../api.js';
import { BurstBadge } from '../components/burst-badge.js';
import { saveAsFile } from '../components/download.js';
import { RangePicker } from '../components/range-picker.js';
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { formatBytes, formatNumber, formatTime } from '../logic/format.js';
import { Link, useRange } from '../router.js';
import { usePoll, useSession } from '../session.js';

interface CostRow {
  tenant: string;
  samples: number;
  bytes: number;
  samples_cost: number;
  bytes_cost: number;
  total_cost: number;
  samples_rejected: number;
}

interface CostReport {
  currency: string;
  since: string;
  prices: { per_million_samples: number; per_gib: number };
  tenants: CostRow[];
  total: { samples: number; bytes: number; total_cost: number };
}

interface Offenders {
  by_denials: { tenant: string; denied: number; deny_ratio: number }[];
  by_series_growth: { tenant: string; value: number }[] | null;
}

interface Bursts {
  enabled: boolean;
  settings: { factor: number; min_rate: number; baseline_seconds: number; window_seconds: number };
  flagged: Burst[];
  recent: { tenant: string; start: string; end: string; peak_rate: number; baseline: number }[];
}

const money = (n: number) => (n === 0 ? '0' : n < 0.01 ? n.toPrecision(2) : n.toFixed(2));

function TenantLink({ id }: { id: string }) {
  return <Link to={`/tenants/${encodeURIComponent(id)}`}>{id}</Link>;
}

export function CostPage() {
  const { api } = useSession();
  const [range, setRange] = useRange();
  const cost = usePoll<CostReport>(`/api/cost?range=${range}`, 10000);
  const top = usePoll<Offenders>(`/api/top-offenders?range=${range}`, 10000);
  const bursts = usePoll<Bursts>('/api/bursts', 5000);
  const [exportError, setExportError] = useState<string | null>(null);

  const exportAs = (format: 'csv' | 'json') => {
    api.download(`/api/cost?range=${range}&format=${format}`, `cost-${range}.${format}`).then(
      ({ name, text }) => {
        saveAsFile(name, format === 'csv' ? 'text/csv' : 'application/json', text);
        setExportError(null);
      },
      (e: Error) => setExportError(e.message),
    );
  };

  const c = cost.data;
  return (
    <div className="page">
      <header className="page-head">
        <h2>Cost and bursts</h2>
        <RangePicker value={range} onChange={setRange} />
      </header>
      <div className="toolbar">
        <button type="button" onClick={() => exportAs('csv')}>
          Export CSV
        </button>
        <button type="button" onClick={() => exportAs('json')}>
          Export JSON
        </button>
      </div>
      {exportError && <ErrorBox message={exportError} />}
      {cost.error && <ErrorBox message={cost.error} />}
      {!c ? (
        !cost.error && <Loading what="cost" />
      ) : (
        <section className="card">
          <h3>
            Cost per tenant: {money(c.total.total_cost)} {c.currency} in {range}
          </h3>
          <p className="hint">
            Accepted items at {c.prices.per_million_samples} {c.currency} per million and accepted bytes (as
            received, compressed) at {c.prices.per_gib} {c.currency} per GiB; denied writes are not charged.
            This replica&apos;s traffic since {formatTime(c.since)}.
          </p>
          {c.tenants.length === 0 ? (
            <Empty>No accepted traffic in this range.</Empty>
          ) : (
            <div className="table-wrap">
              <table data-testid="cost-table">
                <thead>
                  <tr>
                    <th>Tenant</th>
                    <th>Accepted items</th>
                    <th>Accepted bytes</th>
                    <th>Items cost</th>
                    <th>Bytes cost</th>
                    <th>Total ({c.currency})</th>
                    <th>Rejected items</th>
                  </tr>
                </thead>
                <tbody>
                  {c.tenants.map((t) => (
                    <tr key={t.tenant} data-tenant={t.tenant}>
                      <td>
                        <TenantLink id={t.tenant} />
                      </td>
                      <td>{formatNumber(t.samples)}</td>
                      <td>{formatBytes(t.bytes)}</td>
                      <td>{money(t.samples_cost)}</td>
                      <td>{money(t.bytes_cost)}</td>
                      <td>
                        <b>{money(t.total_cost)}</b>
                      </td>
                      <td className={t.samples_rejected > 0 ? 'bad' : ''}>
                        {formatNumber(t.samples_rejected)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}
      <div className="grid4">
        <section className="card">
          <h3>Top by denials ({range})</h3>
          {top.error && <ErrorBox message={top.error} />}
          {(top.data?.by_denials ?? []).length === 0 ? (
            <Empty>No denials in this range.</Empty>
          ) : (
            <ol className="top">
              {top.data!.by_denials.map((t) => (
                <li key={t.tenant}>
                  <TenantLink id={t.tenant} />
                  <span>
                    {formatNumber(t.denied)} ({formatNumber(100 * t.deny_ratio)}%)
                  </span>
                </li>
              ))}
            </ol>
          )}
        </section>
        <section className="card">
          <h3>Top by series growth ({range})</h3>
          {top.data?.by_series_growth ? (
            <ol className="top">
              {top.data.by_series_growth.map((t) => (
                <li key={t.tenant}>
                  <TenantLink id={t.tenant} />
                  <span>{formatNumber(t.value)} new series/s</span>
                </li>
              ))}
            </ol>
          ) : (
            <Empty>No series-growth estimate is available.</Empty>
          )}
        </section>
        <section className="card" data-testid="bursting-now">
          <h3>Bursting now</h3>
          {bursts.data && !bursts.data.enabled ? (
            <Empty>Burst detection is off (BURST_DETECTION=false).</Empty>
          ) : (bursts.data?.flagged ?? []).length === 0 ? (
            <Empty>No tenant is far above its own baseline.</Empty>
          ) : (
            <ol className="top">
              {bursts.data!.flagged.map((b) => (
                <li key={b.tenant}>
                  <TenantLink id={b.tenant} />
                  <BurstBadge burst={b} />
                </li>
              ))}
            </ol>
          )}
          {bursts.data?.enabled && (
            <p className="hint">
              Flagged above {bursts.data.settings.factor}× the tenant&apos;s baseline and at least{' '}
              {formatNumber(bursts.data.settings.min_rate)} items/s.
            </p>
          )}
        </section>
        <section className="card">
          <h3>Recent bursts</h3>
          {(bursts.data?.recent ?? []).length === 0 ? (
            <Empty>None has ended since start.</Empty>
          ) : (
            <ol className="top">
              {bursts.data!.recent.slice(0, 10).map((b) => (
                <li key={`${b.tenant}-${b.start}`}>
                  <TenantLink id={b.tenant} />
                  <span title={`${formatTime(b.start)} – ${formatTime(b.end)}`}>
                    peak {formatNumber(b.peak_rate)}/s vs {formatNumber(b.baseline)}/s
                  </span>
                </li>
              ))}
            </ol>
          )}
        </section>
      </div>
    </div>
  );
}
