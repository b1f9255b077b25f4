// System: replicas, store mode, limits version and staleness, overrides file, listeners.
import { ErrorBox, Loading } from '../components/states.js';
import { formatNumber, formatTime } from '../logic/format.js';
import { usePoll } from '../session.js';

interface Status {
  status: string;
  version: string;
  uptime_seconds: number;
  upstream: string;
  mode: string;
  replicas: { id: string; self: boolean; started: string | null }[];
  store: { kind: string; fallback: boolean; tenants: number };
  limits: {
    version: number;
    tenants_with_overrides: number;
    tenants_with_runtime_overrides: number;
    stale_seconds: number | null;
    overrides_file: {
      path: string;
      last_success: string | null;
      last_error: { time: string; message: string } | null;
    } | null;
  };
  aggregation: { tenants: number; bytes_per_tenant: number };
  listeners: Record<string, number>;
}

export function SystemPage() {
  const { data: s, error } = usePoll<Status>('/api/system/status', 5000);
  return (
    <div className="page">
      <header className="page-head">
        <h2>System</h2>
      </header>
      {error && <ErrorBox message={error} />}
      {!s ? (
        !error && <Loading what="system status" />
      ) : (
        <div className="grid2">
          <section className="card">
            <h3>Service</h3>
            <dl>
              <dt>Status</dt>
              <dd>
                <b className={`badge ${s.status}`} data-testid="system-status">
                  {s.status}
                </b>
              </dd>
              <dt>Version</dt>
              <dd>{s.version}</dd>
              <dt>Mode</dt>
              <dd>{s.mode}</dd>
              <dt>Uptime</dt>
              <dd>{formatNumber(s.uptime_seconds)} s</dd>
              <dt>Upstream</dt>
              <dd>
                <code>{s.upstream}</code>
              </dd>
              <dt>Replicas</dt>
              <dd>{s.replicas.map((r) => `pid ${r.id}${r.self ? ' (this one)' : ''}`).join(', ')}</dd>
            </dl>
          </section>
          <section className="card">
            <h3>Store and limits</h3>
            <dl>
              <dt>Store</dt>
              <dd>
                {s.store.kind}
                {s.store.fallback ? ' — in fallback' : ''} ({s.store.tenants} tenants)
              </dd>
              <dt>Limits version</dt>
              <dd>{s.limits.version}</dd>
              <dt>Tenants with overrides</dt>
              <dd>
                {s.limits.tenants_with_overrides} file, {s.limits.tenants_with_runtime_overrides} runtime
              </dd>
              <dt>Overrides file</dt>
              <dd>{s.limits.overrides_file ? <code>{s.limits.overrides_file.path}</code> : 'none'}</dd>
              <dt>Last read</dt>
              <dd>
                {formatTime(s.limits.overrides_file?.last_success)}
                {s.limits.stale_seconds !== null ? ` (${formatNumber(s.limits.stale_seconds)} s ago)` : ''}
              </dd>
              {s.limits.overrides_file?.last_error && (
                <>
                  <dt>Last error</dt>
                  <dd className="bad">{s.limits.overrides_file.last_error.message}</dd>
                </>
              )}
              <dt>Aggregation</dt>
              <dd>
                {s.aggregation.tenants} tenants × {s.aggregation.bytes_per_tenant} bytes
              </dd>
              <dt>Listeners</dt>
              <dd>
                {Object.entries(s.listeners)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', ')}
              </dd>
            </dl>
          </section>
        </div>
      )}
    </div>
  );
}
