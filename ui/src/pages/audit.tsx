// Audit log: every configuration change (from any source) and every other admin action, newest first: who
// ("system" for file and ConfigMap reloads), where the change came from, the version it made, and its diff.
import { useState } from 'react';
import { DiffTable } from '../components/config-diff.js';
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { actorText, sourceText } from '../logic/config-versions.js';
import type { TenantChange } from '../logic/config-versions.js';
import { formatTime } from '../logic/format.js';
import { usePoll } from '../session.js';

interface Entry {
  id: number;
  time: string;
  actor: string;
  role: string;
  action: string;
  tenant: string | null;
  before: unknown;
  after: unknown;
  reason: string | null;
  version: number | null;
  source?: string | null;
  diff?: TenantChange[];
}

/** Entries without a config diff (e.g. a mode switch) show their before and after as they are. */
function Change({ e }: { e: Entry }) {
  if (e.diff) return <DiffTable changes={e.diff} testId={`audit-diff-${e.id}`} compact />;
  return (
    <code>
      {JSON.stringify(e.before)} → {JSON.stringify(e.after)}
    </code>
  );
}

export function AuditPage() {
  const [tenant, setTenant] = useState('');
  const query = tenant.trim() ? `&tenant=${encodeURIComponent(tenant.trim())}` : '';
  const { data, error } = usePoll<{ entries: Entry[] }>(`/api/audit?limit=200${query}`, 5000);
  return (
    <div className="page">
      <header className="page-head">
        <h2>Audit log</h2>
        <input
          type="search"
          aria-label="Filter by tenant"
          placeholder="Tenant (exact id)"
          value={tenant}
          onChange={(e) => setTenant(e.target.value)}
        />
      </header>
      {error && <ErrorBox message={error} />}
      {!data ? (
        !error && <Loading what="audit log" />
      ) : data.entries.length === 0 ? (
        <Empty>{tenant.trim() ? `No changes for tenant ${tenant.trim()}.` : 'No changes yet.'}</Empty>
      ) : (
        <div className="table-wrap">
          <table data-testid="audit">
            <thead>
              <tr>
                <th>Time</th>
                <th>Actor</th>
                <th>Action</th>
                <th>Tenant</th>
                <th>Change</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {data.entries.map((e) => {
                const a = actorText(e.actor, e.role);
                return (
                  <tr key={e.id} data-audit-id={e.id}>
                    <td>{formatTime(e.time)}</td>
                    <td>
                      {a.via ? <b className="badge system">{a.who}</b> : a.who}
                      {a.via && <span className="hint"> {a.via}</span>}
                    </td>
                    <td>
                      {e.action}
                      {e.source && (
                        <span className="hint sub" data-testid="audit-source">
                          {sourceText(e.source)}
                          {e.version !== null ? ` · version ${e.version}` : ''}
                        </span>
                      )}
                    </td>
                    <td>{e.tenant ?? '–'}</td>
                    <td className="message">
                      <Change e={e} />
                    </td>
                    <td className="message">{e.reason ?? '–'}</td>
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
