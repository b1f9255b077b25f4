// Config: the limits in force (version, defaults, where they come from). Versions, diff, rollback and
// import need the versioned config store, which this service does not have yet; the page says so.
import { ErrorBox, Loading } from '../components/states.js';
import { formatNumber } from '../logic/format.js';
import { usePoll } from '../session.js';

interface Limits {
  version: number;
  defaults: Record<string, number>;
  definitions: { name: string; description: string; zero_means: string | null }[];
}

export function ConfigPage() {
  const { data, error } = usePoll<Limits>('/api/limits', 10000);
  return (
    <div className="page">
      <header className="page-head">
        <h2>Config</h2>
      </header>
      <p className="hint">
        Limits come from the defaults below, then Mimir&apos;s overrides file, then changes made here
        (recorded in the audit log). Version history, rollback and import are not available yet.
      </p>
      {error && <ErrorBox message={error} />}
      {!data ? (
        !error && <Loading what="limits" />
      ) : (
        <section className="card">
          <h3>Defaults (version {data.version})</h3>
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
                {data.definitions.map((d) => (
                  <tr key={d.name}>
                    <td>
                      <code>{d.name}</code>
                    </td>
                    <td>{formatNumber(data.defaults[d.name])}</td>
                    <td>
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
    </div>
  );
}
