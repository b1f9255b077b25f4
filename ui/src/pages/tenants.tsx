// Tenants: a searchable, sortable table with accepted and rejected samples/s, utilisation bars, headroom and
// time to the limit, retry storms flagged; exportable as CSV or JSON.
import { useMemo, useState } from 'react';
import type { Tenant } from '../api.js';
import { saveAsFile } from '../components/download.js';
import { RangePicker } from '../components/range-picker.js';
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { BurstBadge } from '../components/burst-badge.js';
import { UtilBar } from '../components/util-bar.js';
import { formatNumber } from '../logic/format.js';
import { toCsv, toJson } from '../logic/table-export.js';
import type { Cell } from '../logic/table-export.js';
import { headroom, headroomText, minutesText, minutesToLimit, retryStorm } from '../logic/tenant-figures.js';
import { Link, useRange } from '../router.js';
import { usePoll } from '../session.js';

type Column = { key: string; title: string; value: (t: Tenant) => number | string };

const COLUMNS: Column[] = [
  { key: 'id', title: 'Tenant', value: (t) => t.id },
  { key: 'samples', title: 'Accepted samples/s', value: (t) => t.window.accepted_samples_per_second },
  { key: 'rejected', title: 'Rejected samples/s', value: (t) => t.window.rejected_samples_per_second },
  { key: 'requests', title: 'Requests/s', value: (t) => t.window.requests_per_second },
  { key: 'denied', title: 'Denied', value: (t) => t.window.denied },
  { key: 'rate', title: 'Rate use (accepted)', value: (t) => t.utilisation.ingestion_rate_accepted_pct },
  { key: 'burst', title: 'Burst use', value: (t) => t.utilisation.ingestion_burst_pct },
  // Unlimited tenants sort as having infinite headroom and never reaching the limit.
  { key: 'headroom', title: 'Headroom', value: (t) => headroom(t) ?? Infinity },
  { key: 'ttl', title: 'Time to limit', value: (t) => minutesToLimit(t) ?? Infinity },
  { key: 'limit', title: 'ingestion_rate', value: (t) => t.limits.ingestion_rate ?? 0 },
];

export function TenantsPage() {
  const [range, setRange] = useRange();
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState<{ key: string; desc: boolean }>({ key: 'samples', desc: true });
  const { data, error } = usePoll<{ tenants: Tenant[] }>(`/api/tenants?range=${range}`, 5000);

  const rows = useMemo(() => {
    const col = COLUMNS.find((c) => c.key === sort.key) ?? COLUMNS[0]!;
    const q = query.trim().toLowerCase();
    return (data?.tenants ?? [])
      .filter((t) => t.id.toLowerCase().includes(q))
      .sort((a, b) => {
        const x = col.value(a);
        const y = col.value(b);
        const c = typeof x === 'string' ? x.localeCompare(String(y)) : x - Number(y);
        return (sort.desc ? -c : c) || a.id.localeCompare(b.id);
      });
  }, [data, query, sort]);

  const exportRows = (): [string[], Cell[][]] => [
    [
      'tenant',
      'accepted_samples_per_second',
      'rejected_samples_per_second',
      'requests_per_second',
      'denied',
      'ingestion_rate_pct',
      'ingestion_burst_pct',
      'ingestion_rate',
    ],
    rows.map((t) => [
      t.id,
      t.window.accepted_samples_per_second,
      t.window.rejected_samples_per_second,
      t.window.requests_per_second,
      t.window.denied,
      t.utilisation.ingestion_rate_pct,
      t.utilisation.ingestion_burst_pct,
      t.limits.ingestion_rate ?? null,
    ]),
  ];

  return (
    <div className="page">
      <header className="page-head">
        <h2>Tenants</h2>
        <RangePicker value={range} onChange={setRange} />
      </header>
      <div className="toolbar">
        <input
          type="search"
          placeholder="Search tenants"
          aria-label="Search tenants"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <button type="button" onClick={() => saveAsFile('tenants.csv', 'text/csv', toCsv(...exportRows()))}>
          Export CSV
        </button>
        <button
          type="button"
          onClick={() => saveAsFile('tenants.json', 'application/json', toJson(...exportRows()))}
        >
          Export JSON
        </button>
      </div>
      {error && <ErrorBox message={error} />}
      {!data ? (
        !error && <Loading what="tenants" />
      ) : rows.length === 0 ? (
        <Empty>
          {query
            ? `No tenant matches "${query}".`
            : 'No tenants yet: none has sent traffic or has overrides.'}
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="tenants">
            <thead>
              <tr>
                {COLUMNS.map((c) => (
                  <th key={c.key}>
                    <button
                      type="button"
                      className="sort"
                      onClick={() =>
                        setSort((s) => ({ key: c.key, desc: s.key === c.key ? !s.desc : c.key !== 'id' }))
                      }
                    >
                      {c.title}
                      {sort.key === c.key ? (sort.desc ? ' ▼' : ' ▲') : ''}
                    </button>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.id} data-tenant={t.id}>
                  <td>
                    <Link to={`/tenants/${encodeURIComponent(t.id)}`}>{t.id}</Link>
                    {t.burst?.flagged && (
                      <>
                        {' '}
                        <BurstBadge burst={t.burst} />
                      </>
                    )}
                    {retryStorm(t) && (
                      <>
                        {' '}
                        <span className="flag" title="most requests denied and resent">
                          retry storm
                        </span>
                      </>
                    )}
                  </td>
                  <td>{formatNumber(t.window.accepted_samples_per_second)}</td>
                  <td className={t.window.rejected_samples_per_second > 0 ? 'bad' : ''}>
                    {formatNumber(t.window.rejected_samples_per_second)}
                  </td>
                  <td>{formatNumber(t.window.requests_per_second)}</td>
                  <td className={t.window.denied > 0 ? 'bad' : ''}>{formatNumber(t.window.denied)}</td>
                  <td>
                    <UtilBar pct={t.utilisation.ingestion_rate_accepted_pct} label="ingestion_rate used" />
                  </td>
                  <td>
                    <UtilBar pct={t.utilisation.ingestion_burst_pct} label="ingestion burst used" />
                  </td>
                  <td>{headroomText(headroom(t), formatNumber, '/s')}</td>
                  <td>{minutesText(minutesToLimit(t))}</td>
                  <td>{formatNumber(t.limits.ingestion_rate)}/s</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
