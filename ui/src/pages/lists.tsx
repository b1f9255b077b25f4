// Allow and block lists: every named list of the policy set with its kind, action, class, file, entries in
// force (from the file and policy set, and changed at runtime), version and whether runtime changes are
// shared through Redis; below, the chosen list's entries (?list=name), paged, with a filter. Operators and
// admins add and remove entries there (with a reason, audited); viewers see it read-only.
import { ListEntries } from '../components/list-entries.js';
import type { ListInfo } from '../components/list-entries.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { countsText } from '../logic/list-entries.js';
import { formatTime } from '../logic/format.js';
import { useRouter } from '../router.js';
import { canEdit, usePoll, useSession } from '../session.js';

function chosenList(path: string): string | null {
  const q = path.indexOf('?');
  return q === -1 ? null : new URLSearchParams(path.slice(q + 1)).get('list');
}

function actionText(l: ListInfo): string {
  return l.action ?? '–';
}

export function ListsPage() {
  const { role } = useSession();
  const { path, navigate } = useRouter();
  const { data, error, reload } = usePoll<{ policy_set: boolean; lists: ListInfo[] }>('/api/lists', 5000);
  const editor = canEdit(role);
  const lists = data?.lists ?? [];
  const wanted = chosenList(path);
  const chosen = lists.find((l) => l.name === wanted) ?? (wanted === null ? lists[0] : undefined);

  return (
    <div className="page">
      <header className="page-head">
        <h2>Lists</h2>
      </header>
      <p className="hint">
        The allow and block lists of the policy set (POLICY_FILE, see the wiki&apos;s policies page): entries
        from each list&apos;s file and the policy set, plus those added or removed at runtime here or through
        the admin API. A client on a block list gets 403; one on an allow list is exempt from every policy.
      </p>
      {!editor && (
        <p className="hint" data-testid="read-only">
          Your role ({role}) can see the lists but not change them: operators and admins can add and remove
          entries.
        </p>
      )}
      {error && <ErrorBox message={error} />}
      {!data ? (
        !error && <Loading what="lists" />
      ) : !data.policy_set ? (
        <Empty>No policy file (POLICY_FILE) is loaded, so there are no lists.</Empty>
      ) : lists.length === 0 ? (
        <Empty>The policy set has no lists.</Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table data-testid="lists">
              <thead>
                <tr>
                  <th>List</th>
                  <th>Kind</th>
                  <th>Action</th>
                  <th>Class</th>
                  <th>File</th>
                  <th>Entries in force</th>
                  <th>Version</th>
                  <th>Runtime changes shared</th>
                </tr>
              </thead>
              <tbody>
                {lists.map((l) => {
                  const counts = countsText(l.size, l.added, l.removed, l.file !== null);
                  return (
                    <tr
                      key={l.name}
                      data-list={l.name}
                      className={chosen?.name === l.name ? 'selected' : undefined}
                    >
                      <td>
                        <button
                          type="button"
                          className="link"
                          aria-label={`Show entries of ${l.name}`}
                          onClick={() => navigate(`/lists?list=${encodeURIComponent(l.name)}`)}
                        >
                          {l.name}
                        </button>
                      </td>
                      <td>{l.kind}</td>
                      <td className={l.action === 'block' ? 'bad-text' : undefined}>{actionText(l)}</td>
                      <td>{l.class ?? '–'}</td>
                      <td className="wrap-anywhere">
                        {l.file === null ? (
                          <span className="hint">none (policy set only)</span>
                        ) : (
                          <code>{l.file}</code>
                        )}
                        {l.file_error && (
                          <span className="bad-text sub" role="note">
                            refused at {formatTime(l.file_error.time)}, last good entries kept:{' '}
                            {l.file_error.message}
                          </span>
                        )}
                      </td>
                      <td data-testid="list-size">
                        <b>{l.size.toLocaleString('en-US')}</b>
                        <span className="hint sub">{counts.base}</span>
                        <span className="hint sub">{counts.runtime}</span>
                      </td>
                      <td>{l.version}</td>
                      <td>
                        {l.shared_version === null ? (
                          <span className="hint">no: this replica only</span>
                        ) : (
                          <>
                            through Redis
                            <span className="hint sub">shared version {l.shared_version}</span>
                          </>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {wanted !== null && chosen === undefined ? (
            <ErrorBox message={`There is no list named ${JSON.stringify(wanted)}.`} />
          ) : (
            chosen && <ListEntries key={chosen.name} list={chosen} onChanged={reload} />
          )}
        </>
      )}
    </div>
  );
}
