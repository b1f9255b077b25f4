// System: the service (status, version, replicas, store), the enforcement mode with its switch (operator),
// and the limits configuration: version in force, last change, where the overrides come from (file path or
// ConfigMap) with the last reload and error, and whether runtime changes survive a restart (STATE_DIR).
import { useState } from 'react';
import { ApiError } from '../api.js';
import type { Replica, UpstreamHealth } from '../api.js';
import { ErrorBox, Loading, OutcomeLine } from '../components/states.js';
import type { Outcome } from '../components/states.js';
import { ModeSwitch } from '../components/mode-switch.js';
import { UpstreamHealthFacts } from '../components/upstream-health.js';
import { ProtectionCard } from '../components/protection-card.js';
import { sourceText, versionActor } from '../logic/config-versions.js';
import { formatBytes, formatNumber, formatTime } from '../logic/format.js';
import { Link } from '../router.js';
import { canEdit, usePoll, useSession } from '../session.js';

type Mode = 'enforce' | 'dry-run' | 'off';
const MODES: Mode[] = ['enforce', 'dry-run', 'off'];
const MODE_TEXT: Record<Mode, string> = {
  enforce: 'requests over a limit are denied',
  'dry-run': 'every limit is checked and "would deny" is recorded, but every request is forwarded',
  off: 'requests are forwarded without being measured or recorded (the kill switch)',
};

interface Reload {
  last_success: string | null;
  last_applied: string | null;
  tenants: number;
  ignored_limits: number;
  last_error: { time: string; message: string } | null;
}

type Source =
  | ({ kind: 'file'; path: string; stale_seconds: number | null } & Reload)
  | ({
      kind: 'configmap';
      namespace: string;
      name: string;
      key: string;
      connection: 'watch' | 'poll';
      stale_seconds: number;
    } & Reload)
  | { kind: 'none' };

interface Status {
  status: string;
  version: string;
  uptime_seconds: number;
  upstream: string;
  upstream_health?: UpstreamHealth;
  mode: Mode;
  replicas: Replica[];
  replicas_source?: 'redis' | 'process';
  replicas_error?: { time: string; message: string } | null;
  store: { kind: string; fallback: boolean; tenants: number };
  limits: {
    version: number;
    oldest_version: number | null;
    last_change: {
      version: number;
      time: string;
      actor: string;
      source: string;
      reason: string | null;
    } | null;
    tenants_with_overrides: number;
    tenants_with_runtime_overrides: number;
    stale_seconds: number | null;
    source: Source;
  };
  persistence: {
    state_dir: string | null;
    persistent: boolean;
    save: 'saved' | 'saving' | 'failed' | 'memory-only';
    last_error: string | null;
    audit_write_error?: string | null;
    files: { path: string; bytes: number | null; modified: string | null }[];
  };
  aggregation: { tenants: number; bytes_per_tenant: number };
  listeners: Record<string, number>;
}

interface ModeStatus {
  mode: Mode;
  changed_at: string | null;
  tenants: { tenant: string; mode: Mode }[];
  would_deny: { since_start: number; last_5m_by_reason: Record<string, number> };
  unchecked_requests: number;
}

function SourceFacts({ source }: { source: Source }) {
  if (source.kind === 'none')
    return (
      <>
        <dt>Overrides source</dt>
        <dd data-testid="limits-source">none (OVERRIDES_FILE and OVERRIDES_CONFIGMAP are unset)</dd>
      </>
    );
  return (
    <>
      <dt>Overrides source</dt>
      <dd data-testid="limits-source">
        {source.kind === 'file' ? (
          <>
            file <code>{source.path}</code>
          </>
        ) : (
          <>
            ConfigMap{' '}
            <code>
              {source.namespace}/{source.name}
            </code>{' '}
            key <code>{source.key}</code> (
            {source.connection === 'watch' ? 'watching' : 'polling: watch down'})
          </>
        )}
      </dd>
      <dt>Last read</dt>
      <dd>
        {formatTime(source.last_success)}
        {source.stale_seconds !== null ? ` (${formatNumber(source.stale_seconds)} s stale)` : ''}
      </dd>
      <dt>Last applied</dt>
      <dd>
        {formatTime(source.last_applied)} ({source.tenants} tenants
        {source.ignored_limits > 0 ? `, ${source.ignored_limits} limits not enforced here` : ''})
      </dd>
      <dt>Last error</dt>
      <dd className={source.last_error ? 'bad' : ''} data-testid="limits-source-error">
        {source.last_error
          ? `${formatTime(source.last_error.time)}: ${source.last_error.message} (the last good limits stay in force)`
          : 'none'}
      </dd>
    </>
  );
}

function Persistence({ p }: { p: Status['persistence'] }) {
  if (!p.persistent)
    return (
      <p className="state error" data-testid="persistence">
        STATE_DIR is not set: runtime limits, versions and the audit log live in memory and are lost at
        restart.
      </p>
    );
  return (
    <>
      <dl data-testid="persistence">
        <dt>STATE_DIR</dt>
        <dd>
          <code>{p.state_dir}</code>
        </dd>
        <dt>Last save</dt>
        <dd className={p.save === 'failed' ? 'bad' : ''}>
          {p.save === 'saved'
            ? 'saved: every change so far survives a restart'
            : p.save === 'saving'
              ? 'saving…'
              : `failed: ${p.last_error ?? 'unknown error'}. Changes are in force but would not survive a restart.`}
        </dd>
        {p.audit_write_error && (
          <>
            <dt>Audit file</dt>
            <dd className="bad">cannot be written: {p.audit_write_error}</dd>
          </>
        )}
      </dl>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>File</th>
              <th>Size</th>
              <th>Written</th>
            </tr>
          </thead>
          <tbody>
            {p.files.map((f) => (
              <tr key={f.path}>
                <td>
                  <code title={f.path}>{f.path.split('/').pop()}</code>
                </td>
                <td>{f.bytes === null ? 'not written yet' : formatBytes(f.bytes)}</td>
                <td>{formatTime(f.modified)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function ModeCard({ fallback }: { fallback: Mode }) {
  const { api, role } = useSession();
  const editable = canEdit(role);
  const { data: m, error, reload } = usePoll<ModeStatus>('/api/system/mode', 5000);
  const [next, setNext] = useState<Mode | null>(null);
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<Outcome | null>(null);
  // No runtime switch (404 from the API): the mode comes from DRY_RUN and changes only with a restart.
  const switchable = !(m === null && error?.startsWith('no admin endpoint'));
  const mode = m?.mode ?? fallback;

  const apply = async () => {
    if (!next) return;
    try {
      await api.post('/api/system/mode', { mode: next, ...(reason.trim() ? { reason: reason.trim() } : {}) });
      setMessage({ ok: true, text: `Enforcement mode is now ${next}: ${MODE_TEXT[next]}.` });
      setNext(null);
      setReason('');
      reload();
    } catch (e) {
      setMessage({ ok: false, text: e instanceof ApiError ? e.message : String(e) });
    }
    setConfirming(false);
  };

  return (
    <section className="card">
      <h3>Enforcement mode</h3>
      {error && switchable && <ErrorBox message={`Mode: ${error}`} />}
      <p>
        <b className={`badge mode-${mode}`} data-testid="mode">
          {mode}
        </b>{' '}
        <span className="hint">
          {MODE_TEXT[mode]}
          {m?.changed_at ? ` (since ${formatTime(m.changed_at)})` : ''}
        </span>
      </p>
      {m && (
        <dl>
          <dt>Would deny</dt>
          <dd>{formatNumber(m.would_deny.since_start)} since start</dd>
          <dt>Unchecked</dt>
          <dd>{formatNumber(m.unchecked_requests)} requests forwarded while off</dd>
          <dt>Tenants with their own mode</dt>
          <dd>
            {m.tenants.length === 0
              ? 'none'
              : m.tenants.map((t, i) => (
                  <span key={t.tenant}>
                    {i > 0 ? ', ' : ''}
                    <Link to={`/tenants/${encodeURIComponent(t.tenant)}`}>{t.tenant}</Link> {t.mode}
                  </span>
                ))}
          </dd>
        </dl>
      )}
      <OutcomeLine outcome={message} />
      {!switchable ? (
        <p className="hint">This service has no runtime switch: DRY_RUN sets the mode at start.</p>
      ) : !editable ? (
        <p className="hint" data-testid="mode-read-only">
          Your role ({role}) can see the mode but not switch it.
        </p>
      ) : (
        <ModeSwitch
          modes={MODES}
          current={mode}
          next={next}
          onNext={setNext}
          reason={reason}
          onReason={setReason}
          subject="enforcement"
          button="Review mode change"
          onSubmit={() => setConfirming(true)}
        />
      )}
      {confirming && next && (
        <div className="dialog-backdrop">
          <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="mode-title">
            <h3 id="mode-title">
              Switch the whole service from {mode} to {next}?
            </h3>
            <p>
              In <b>{next}</b>, {MODE_TEXT[next]}. It applies to the next request of every tenant that has no
              mode of its own, is recorded in the audit log, and lasts until switched again or the service
              restarts.
            </p>
            <div className="toolbar">
              <button type="button" className="primary" onClick={() => void apply()}>
                Switch to {next}
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}

/** The live replicas from their heartbeats in Redis, this one marked; without Redis, this process alone. */
function Replicas({ s }: { s: Status }) {
  const shared = s.replicas_source === 'redis';
  const behind = s.replicas.filter((r) => r.config_version != null && r.config_version !== s.limits.version);
  return (
    <section className="card" data-testid="replicas">
      <h3>Replicas ({s.replicas.length})</h3>
      <p className="hint">
        {shared
          ? 'Every replica sharing this Redis, from the heartbeat each sends every second; one silent for 5 s is dropped.'
          : 'No REDIS_ADDRESS: replicas do not know each other, so this process is the only one listed.'}
      </p>
      {s.replicas_error && (
        <p className="state error" role="alert">
          Cannot read the replicas from Redis since {formatTime(s.replicas_error.time)}:{' '}
          {s.replicas_error.message}. The list below is the last one read.
        </p>
      )}
      {behind.length > 0 && (
        <p className="hint" data-testid="replicas-behind">
          {behind.length} replica{behind.length === 1 ? '' : 's'} still on another config version than this
          one ({s.limits.version}); changes reach every replica within seconds.
        </p>
      )}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Replica</th>
              <th>Host</th>
              <th>Admin</th>
              <th>Proxy</th>
              <th>Config version</th>
              <th>Last seen</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {s.replicas.map((r) => (
              <tr key={r.id} data-testid="replica-row" data-self={r.self ? 'true' : 'false'}>
                <td>
                  <code>{r.id}</code>
                  {r.self && <b className="badge"> this one</b>}
                </td>
                <td>{r.hostname ?? '–'}</td>
                <td>{r.admin_address ? <code>{r.admin_address}</code> : '–'}</td>
                <td>{r.proxy_address ? <code>{r.proxy_address}</code> : '–'}</td>
                <td data-testid="replica-config-version">{r.config_version ?? '–'}</td>
                <td>
                  {r.self
                    ? 'now'
                    : r.last_seen_seconds_ago != null
                      ? `${formatNumber(r.last_seen_seconds_ago)} s ago`
                      : formatTime(r.last_seen)}
                </td>
                <td>{formatTime(r.started)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function SystemPage() {
  const { data: s, error } = usePoll<Status>('/api/system/status', 5000);
  const last = s?.limits.last_change ?? null;
  return (
    <div className="page">
      <header className="page-head">
        <h2>System</h2>
      </header>
      {error && <ErrorBox message={error} />}
      {!s ? (
        !error && <Loading what="system status" />
      ) : (
        <>
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
                <dt>Uptime</dt>
                <dd>{formatNumber(s.uptime_seconds)} s</dd>
                <dt>Upstream</dt>
                <dd>
                  {s.upstream_health ? (
                    <UpstreamHealthFacts health={s.upstream_health} />
                  ) : (
                    <code>{s.upstream}</code>
                  )}
                </dd>
                <dt>Store</dt>
                <dd>
                  {s.store.kind}
                  {s.store.fallback ? ' — in fallback' : ''} ({s.store.tenants} tenants)
                </dd>
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
            <ModeCard fallback={s.mode} />
          </div>
          <Replicas s={s} />
          <ProtectionCard />
          <div className="grid2">
            <section className="card">
              <h3>Limits configuration</h3>
              <dl>
                <dt>Config version</dt>
                <dd>
                  <b data-testid="config-version">{s.limits.version}</b>{' '}
                  <Link to="/config">history and rollback</Link>
                </dd>
                <dt>Last change</dt>
                <dd data-testid="last-change">
                  {last
                    ? `${formatTime(last.time)} by ${versionActor(last).who}${
                        versionActor(last).via ? ` (${versionActor(last).via})` : ''
                      }, ${sourceText(last.source)}${last.reason ? `: ${last.reason}` : ''}`
                    : 'none since start'}
                </dd>
                <dt>Tenants with overrides</dt>
                <dd>
                  {s.limits.tenants_with_overrides} from Mimir&apos;s overrides,{' '}
                  {s.limits.tenants_with_runtime_overrides} set here
                </dd>
                <SourceFacts source={s.limits.source} />
              </dl>
            </section>
            <section className="card">
              <h3>Persistence</h3>
              <Persistence p={s.persistence} />
            </section>
          </div>
        </>
      )}
    </div>
  );
}
