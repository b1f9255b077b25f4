// Audit log: every change made through the admin API, newest first, with its actor.
import { ErrorBox, Empty, Loading } from '../components/states.js';
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
}

export function AuditPage() {
  const { data, error } = usePoll<{ entries: Entry[] }>('/api/audit?limit=200', 5000);
  return (
    <div className="page">
      <header className="page-head">
        <h2>Audit log</h2>
      </header>
      {error && <ErrorBox message={error} />}
      {!data ? (
        !error && <Loading what="audit log" />
      ) : data.entries.length === 0 ? (
        <Empty>No changes yet.</Empty>
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
              </tr>
            </thead>
            <tbody>
              {data.entries.map((e) => (
                <tr key={e.id}>
                  <td>{formatTime(e.time)}</td>
                  <td>
                    {e.actor} ({e.role})
                  </td>
                  <td>{e.action}</td>
                  <td>{e.tenant ?? '–'}</td>
                  <td className="message">
                    <code>{JSON.stringify(e.after)}</code>
                    {e.reason ? ` — ${e.reason}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
