// Overview: live figures over the chosen range (server-sent events), charts of requests/s and accepted and
// rejected samples/s over the same range, health of upstream and store, and the top tenants.
import { useEffect, useState } from 'react';
import type { Flow, TopEntry, Update } from '../api.js';
import { FlowCharts } from '../components/flow-charts.js';
import { RangePicker } from '../components/range-picker.js';
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { formatBytes, formatNumber, formatPct } from '../logic/format.js';
import { Link, useRange } from '../router.js';
import { usePoll, useSession } from '../session.js';
import { UpstreamHealthFacts } from '../components/upstream-health.js';
import { BurstBadge } from '../components/burst-badge.js';

function TopList({
  title,
  entries,
  unit,
}: {
  title: string;
  entries: TopEntry[];
  unit: (v: number) => string;
}) {
  return (
    <section className="card">
      <h3>{title}</h3>
      {entries.length === 0 ? (
        <Empty>No traffic in this range.</Empty>
      ) : (
        <ol className="top">
          {entries.map((e) => (
            <li key={e.tenant}>
              <Link to={`/tenants/${encodeURIComponent(e.tenant)}`}>{e.tenant}</Link>
              <span>{unit(e.value)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function OverviewPage() {
  const { api } = useSession();
  const [range, setRange] = useRange();
  // Short ranges have 1 s buckets: refresh often enough to see them move; long ranges change slowly.
  const flow = usePoll<Flow>(
    `/api/timeseries/${range}/flow`,
    range === '1m' || range === '5m' ? 2000 : 10000,
  );
  const [update, setUpdate] = useState<Update | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      api
        .stream(
          `/api/events?range=${range}&interval=2`,
          (u) => {
            setUpdate(u);
            setError(null);
          },
          controller.signal,
        )
        .catch((e: Error) => {
          if (controller.signal.aborted) return;
          setError(`live updates interrupted (${e.message}); reconnecting…`);
          retry = setTimeout(connect, 3000);
        });
    };
    connect();
    return () => {
      controller.abort();
      if (retry) clearTimeout(retry);
    };
  }, [api, range]);

  const o = update?.overview;
  return (
    <div className="page">
      <header className="page-head">
        <h2>Overview</h2>
        <RangePicker value={range} onChange={setRange} />
      </header>
      {error && <ErrorBox message={error} />}
      {!o ? (
        <Loading what="live figures" />
      ) : (
        <>
          <div className="stats">
            <div className="stat">
              <b>{formatNumber(o.window.requests_per_second)}</b>
              <span>requests/s</span>
            </div>
            <div className="stat">
              <b data-testid="overview-accepted">{formatNumber(o.window.accepted_samples_per_second)}</b>
              <span>accepted samples/s</span>
            </div>
            <div className="stat">
              <b data-testid="overview-rejected">{formatNumber(o.window.rejected_samples_per_second)}</b>
              <span>rejected samples/s</span>
            </div>
            <div className="stat">
              <b>{formatBytes(o.window.bytes_per_second)}/s</b>
              <span>received</span>
            </div>
            <div className="stat">
              <b data-testid="overview-denied">{formatNumber(o.window.denied)}</b>
              <span>denied ({formatPct(100 * o.window.deny_ratio)})</span>
            </div>
            <div className="stat">
              <b>{o.active_tenants}</b>
              <span>active tenants</span>
            </div>
            <div className="stat">
              <b>{formatNumber(o.window.avg_decision_latency_ms, 3)} ms</b>
              <span>decision latency</span>
            </div>
          </div>
          {flow.error && <ErrorBox message={flow.error} />}
          {flow.data ? <FlowCharts flow={flow.data} /> : <Loading what="charts" />}
          <section className="card health">
            <h3>Health</h3>
            <ul>
              <li>
                Status: <b className={`badge ${o.health.status}`}>{o.health.status}</b>
              </li>
              <li>
                Upstream: <UpstreamHealthFacts health={o.health.upstream} />
              </li>
              <li>
                Store: {o.health.store.kind}
                {o.health.store.fallback ? ' (in fallback: the shared store is unreachable)' : ''},{' '}
                {o.health.store.tenants} tenants
              </li>
              <li>
                Limits file last read:{' '}
                {o.health.limits_stale_seconds === null
                  ? 'no overrides file'
                  : `${formatNumber(o.health.limits_stale_seconds)} s ago`}
              </li>
            </ul>
          </section>
          <div className="grid4">
            <TopList
              title="Top by accepted samples/s"
              entries={o.top.by_accepted_samples}
              unit={(v) => `${formatNumber(v)}/s`}
            />
            <TopList
              title="Top by rejected samples/s"
              entries={o.top.by_rejected_samples}
              unit={(v) => `${formatNumber(v)}/s`}
            />
            <TopList title="Top by denials" entries={o.top.by_denials} unit={(v) => formatNumber(v)} />
            <TopList
              title="Top by utilisation (offered vs limit)"
              entries={o.top.by_utilisation}
              unit={(v) => formatPct(v)}
            />
          </div>
          <div className="grid4">
            <TopList
              title={`Top by cost (${o.currency ?? ''}, ${range})`}
              entries={o.top.by_cost ?? []}
              unit={(v) => formatNumber(v, 2)}
            />
            <section className="card" data-testid="overview-bursting">
              <h3>Bursting now</h3>
              {(o.bursting ?? []).length === 0 ? (
                <Empty>No tenant is far above its own baseline.</Empty>
              ) : (
                <ol className="top">
                  {(o.bursting ?? []).map((b) => (
                    <li key={b.tenant}>
                      <Link to={`/tenants/${encodeURIComponent(b.tenant)}`}>{b.tenant}</Link>
                      <BurstBadge burst={b} />
                    </li>
                  ))}
                </ol>
              )}
            </section>
          </div>
        </>
      )}
    </div>
  );
}
