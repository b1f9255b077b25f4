// Config: every version of the limits configuration (newest first) with its diff, rollback to a retained
// version through a confirmation showing the server's dry-run diff (operator), export as YAML, and import
// with a dry-run preview before it is applied (admin); then the defaults and what each limit means.
import { useState } from 'react';
import { ApiError } from '../api.js';
import { DiffTable } from '../components/config-diff.js';
import { saveAsFile } from '../components/download.js';
import { ErrorBox, Empty, Loading, OutcomeLine } from '../components/states.js';
import { importBlocker, rollbackBlocker, sourceText, versionActor } from '../logic/config-versions.js';
import type { TenantChange, VersionSummary } from '../logic/config-versions.js';
import { formatNumber, formatTime } from '../logic/format.js';
import { usePoll, useSession } from '../session.js';

interface Limits {
  version: number;
  defaults: Record<string, number>;
  definitions: { name: string; description: string; zero_means: string | null }[];
}

interface Versions {
  versions: VersionSummary[];
  current: number;
  oldest: number | null;
}

interface VersionDetail extends VersionSummary {
  role: string | null;
  diff: TenantChange[];
}

interface DryRun {
  version: number;
  would_change: TenantChange[];
}

type Message = { ok: boolean; text: string };

function errorText(e: unknown): string {
  if (e instanceof ApiError && e.path) return `${e.message} (at ${e.path})`;
  return e instanceof Error ? e.message : String(e);
}

function Actor({ v }: { v: Pick<VersionSummary, 'actor' | 'source'> }) {
  const a = versionActor(v);
  return (
    <>
      {a.who}
      {a.via && <span className="hint"> via {a.via}</span>}
    </>
  );
}

function VersionPanel({
  n,
  current,
  onRollback,
  onExport,
}: {
  n: number;
  current: number;
  onRollback: (n: number) => void;
  onExport: (n: number) => void;
}) {
  const { role } = useSession();
  const { data: v, error } = usePoll<VersionDetail>(`/api/config/versions/${n}`, 0);
  const blocker = rollbackBlocker(role, n, current);
  return (
    <section className="card" data-testid="version-detail">
      <h3>
        Version {n}
        {n === current ? ' (in force)' : ''}
      </h3>
      {error && <ErrorBox message={error} />}
      {!v ? (
        !error && <Loading what={`version ${n}`} />
      ) : (
        <>
          <dl>
            <dt>Time</dt>
            <dd>{formatTime(v.time)}</dd>
            <dt>Actor</dt>
            <dd>
              <Actor v={v} />
              {v.role ? ` (${v.role})` : ''}
            </dd>
            <dt>Source</dt>
            <dd>{sourceText(v.source)}</dd>
            <dt>Reason</dt>
            <dd>{v.reason ?? '–'}</dd>
          </dl>
          <h4>What this version changed</h4>
          <DiffTable changes={v.diff} testId="version-diff" />
        </>
      )}
      <div className="toolbar">
        <button
          type="button"
          className="primary"
          disabled={blocker !== null}
          title={blocker ?? undefined}
          onClick={() => onRollback(n)}
        >
          Roll back to version {n}
        </button>
        <button type="button" onClick={() => onExport(n)}>
          Export version {n}
        </button>
        {blocker && (
          <span className="hint" data-testid="rollback-blocked">
            {blocker}
          </span>
        )}
      </div>
    </section>
  );
}

function ImportPanel({ onDone }: { onDone: (m: Message) => void }) {
  const { api, role } = useSession();
  const [text, setText] = useState('');
  const [reason, setReason] = useState('');
  const [preview, setPreview] = useState<DryRun | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const blocker = importBlocker(role);

  const run = async (dryRun: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const query = dryRun
        ? '?dry_run=true'
        : reason.trim()
          ? `?reason=${encodeURIComponent(reason.trim())}`
          : '';
      const res = await api.postText<DryRun & { changed?: TenantChange[] }>(
        `/api/config/import${query}`,
        text,
        'application/yaml',
      );
      if (dryRun) setPreview(res);
      else {
        setPreview(null);
        setText('');
        setReason('');
        onDone({
          ok: true,
          text: `Imported: version ${res.version} is in force (${res.changed?.length ?? 0} tenant entries changed).`,
        });
      }
    } catch (e) {
      setPreview(null);
      setError(errorText(e));
    }
    setBusy(false);
  };

  return (
    <section className="card" data-testid="import">
      <h3>Import a configuration</h3>
      <p className="hint">
        Paste or load YAML as <b>Export</b> writes it. Each layer the document names (<code>overrides:</code>,{' '}
        <code>runtime.limits</code>, <code>runtime.enforcement</code>) replaces the one in force; the others
        are kept. Preview first: nothing changes until you apply.
      </p>
      {blocker ? (
        <p className="hint" data-testid="import-blocked">
          {blocker}
        </p>
      ) : (
        <>
          <label className="field">
            Configuration YAML
            <textarea
              rows={8}
              spellCheck={false}
              value={text}
              onChange={(e) => {
                setText(e.target.value);
                setPreview(null);
              }}
            />
          </label>
          <label className="field">
            Or load a file
            <input
              type="file"
              accept=".yaml,.yml,application/yaml,text/yaml"
              onChange={(e) => {
                const file = e.target.files?.[0];
                if (file)
                  void file.text().then((t) => {
                    setText(t);
                    setPreview(null);
                  });
              }}
            />
          </label>
          <div className="toolbar">
            <button type="button" disabled={busy || text.trim() === ''} onClick={() => void run(true)}>
              Preview import (dry run)
            </button>
          </div>
        </>
      )}
      {error && <ErrorBox message={error} />}
      {preview && (
        <>
          <h4>The import would change (from version {preview.version})</h4>
          <DiffTable changes={preview.would_change} testId="import-diff" />
          {preview.would_change.length > 0 && (
            <div className="toolbar">
              <input
                aria-label="import reason"
                placeholder="Reason (recorded with the version)"
                value={reason}
                maxLength={500}
                onChange={(e) => setReason(e.target.value)}
              />
              <button type="button" className="primary" disabled={busy} onClick={() => void run(false)}>
                Apply import
              </button>
            </div>
          )}
        </>
      )}
    </section>
  );
}

export function ConfigPage() {
  const { api } = useSession();
  const limits = usePoll<Limits>('/api/limits', 10000);
  const versions = usePoll<Versions>('/api/config/versions?limit=100', 5000);
  const [selected, setSelected] = useState<number | null>(null);
  const [rollback, setRollback] = useState<{ n: number; dry: DryRun } | null>(null);
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState<Message | null>(null);
  const [busy, setBusy] = useState(false);
  const current = versions.data?.current ?? limits.data?.version ?? 0;

  const exportVersion = (n?: number) => {
    const path = n === undefined ? '/api/config/export' : `/api/config/export?version=${n}`;
    api.download(path, `limits-v${n ?? current}.yaml`).then(
      ({ name, text }) => saveAsFile(name, 'application/yaml', text),
      (e: unknown) => setMessage({ ok: false, text: `Export failed: ${errorText(e)}` }),
    );
  };

  // The confirmation shows what the server says would change now, not what the version once changed.
  const reviewRollback = async (n: number) => {
    setMessage(null);
    try {
      const dry = await api.post<DryRun>(`/api/config/rollback/${n}?dry_run=true`, {});
      setReason('');
      setRollback({ n, dry });
    } catch (e) {
      setMessage({ ok: false, text: `Rollback to version ${n} cannot be previewed: ${errorText(e)}` });
    }
  };

  const applyRollback = async () => {
    if (!rollback) return;
    setBusy(true);
    try {
      const body = reason.trim() ? { reason: reason.trim() } : {};
      const res = await api.post<{ version: number; rolled_back_to: number }>(
        `/api/config/rollback/${rollback.n}`,
        body,
      );
      setMessage({
        ok: true,
        text: `Rolled back to version ${res.rolled_back_to}: version ${res.version} is in force; the proxy enforces it now.`,
      });
      setSelected(null);
      versions.reload();
      limits.reload();
    } catch (e) {
      setMessage({ ok: false, text: `Rollback failed: ${errorText(e)}` });
    }
    setRollback(null);
    setBusy(false);
  };

  const list = versions.data;
  return (
    <div className="page">
      <header className="page-head">
        <h2>Config</h2>
        <button type="button" onClick={() => exportVersion()} disabled={!list}>
          Export YAML (version {current})
        </button>
      </header>
      <p className="hint">
        Limits come from the defaults below, then Mimir&apos;s overrides (file or ConfigMap), then changes
        made here. Every change, from any source, is a numbered version you can inspect and roll back to.
      </p>
      <OutcomeLine outcome={message} />

      <section className="card">
        <h3>
          Versions{' '}
          {list && (
            <span className="hint" data-testid="current-version">
              version {list.current} in force
              {list.oldest !== null ? `; versions ${list.oldest} to ${list.current} are kept` : ''}
            </span>
          )}
        </h3>
        {versions.error && <ErrorBox message={versions.error} />}
        {!list ? (
          !versions.error && <Loading what="versions" />
        ) : list.versions.length === 0 ? (
          <Empty>No change has been made since the service started.</Empty>
        ) : (
          <div className="table-wrap">
            <table data-testid="versions">
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Time</th>
                  <th>Actor</th>
                  <th>Source</th>
                  <th>Tenant</th>
                  <th>Changes</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                {list.versions.map((v) => (
                  <tr
                    key={v.version}
                    data-version={v.version}
                    className={v.version === selected ? 'selected' : ''}
                  >
                    <td>
                      <button
                        type="button"
                        className="link"
                        aria-label={`show version ${v.version}`}
                        onClick={() => setSelected(v.version)}
                      >
                        {v.version}
                      </button>
                      {v.version === list.current ? ' (in force)' : ''}
                    </td>
                    <td>{formatTime(v.time)}</td>
                    <td>
                      <Actor v={v} />
                    </td>
                    <td>{sourceText(v.source)}</td>
                    <td>{v.tenant ?? '–'}</td>
                    <td>{v.changes}</td>
                    <td className="message">{v.reason ?? '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {selected !== null && (
        <VersionPanel
          key={selected}
          n={selected}
          current={current}
          onRollback={(n) => void reviewRollback(n)}
          onExport={exportVersion}
        />
      )}

      <ImportPanel
        onDone={(m) => {
          setMessage(m);
          versions.reload();
          limits.reload();
        }}
      />

      {limits.error && <ErrorBox message={limits.error} />}
      {!limits.data ? (
        !limits.error && <Loading what="limits" />
      ) : (
        <section className="card">
          <h3>Defaults</h3>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Limit</th>
                  <th>Default</th>
                  <th>Meaning</th>
                </tr>
              </thead>
              <tbody>
                {limits.data.definitions.map((d) => (
                  <tr key={d.name}>
                    <td>
                      <code>{d.name}</code>
                    </td>
                    <td>{formatNumber(limits.data?.defaults[d.name])}</td>
                    <td className="message">
                      {d.description}
                      {d.zero_means ? ` 0 means ${d.zero_means}.` : ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      {rollback && (
        <div className="dialog-backdrop">
          <div className="dialog wide" role="dialog" aria-modal="true" aria-labelledby="rollback-title">
            <h3 id="rollback-title">Roll back to version {rollback.n}?</h3>
            <p className="hint">
              Dry run against version {rollback.dry.version}, which is in force: the rollback would change
            </p>
            <DiffTable changes={rollback.dry.would_change} testId="rollback-diff" />
            <p className="hint">
              It applies at once to every tenant listed, as a new version, and is recorded in the audit log.
            </p>
            <div className="toolbar">
              <input
                aria-label="rollback reason"
                placeholder="Reason (recorded with the version)"
                value={reason}
                maxLength={500}
                onChange={(e) => setReason(e.target.value)}
              />
              <button
                type="button"
                className="primary"
                disabled={busy || rollback.dry.would_change.length === 0}
                onClick={() => void applyRollback()}
              >
                Apply rollback
              </button>
              <button type="button" onClick={() => setRollback(null)}>
                Cancel
              </button>
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
