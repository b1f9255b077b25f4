// One list's entries for the Lists page: a page of them from GET /api/lists/{name}, a filter over the page
// loaded (the API has no lookup), where each entry comes from, and for operators and admins a box to add
// entries and a Remove button per entry, each change with a reason for the audit log.
import { useEffect, useState } from 'react';
import { ApiError } from '../api.js';
import {
  PAGE_SIZES,
  changeDoneText,
  changeFailedText,
  clampOffset,
  entryOrigin,
  filterEntries,
  pageOf,
  parseEntriesText,
} from '../logic/list-entries.js';
import type { ListKind } from '../logic/list-entries.js';
import { canEdit, usePoll, useSession } from '../session.js';
import { ErrorBox, Loading, OutcomeLine } from './states.js';
import type { Outcome } from './states.js';

/** One list as GET /api/lists gives it. */
export interface ListInfo {
  name: string;
  kind: ListKind;
  action: 'allow' | 'block' | null;
  class: string | null;
  file: string | null;
  file_error: { time: string; message: string } | null;
  size: number;
  version: number;
  shared_version: number | null;
  added: number;
  removed: number;
}

interface ListPage extends ListInfo {
  offset: number;
  limit: number;
  entries: string[];
}

interface ChangeAnswer {
  list: string;
  version: number;
  size: number;
  audit_id: number;
  added?: string[];
  removed?: string[];
}

const PLACEHOLDER: Record<ListKind, string> = {
  ip: '192.0.2.44\n2001:db8:bad::/48\n(one or more a line, or separated by spaces or commas)',
  api_key: 'one or more API keys, separated by spaces or new lines',
  user: 'one or more users, separated by spaces or new lines',
  tenant: 'one or more tenant ids, separated by spaces or new lines',
  user_agent: 'one user agent a line; * stands for any run of characters',
};

export function ListEntries({ list, onChanged }: { list: ListInfo; onChanged: () => void }) {
  const { api, role } = useSession();
  const editor = canEdit(role);
  const [limit, setLimit] = useState<number>(PAGE_SIZES[0]);
  const [offset, setOffset] = useState(0);
  const [query, setQuery] = useState('');
  const [text, setText] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const { data, error, reload } = usePoll<ListPage>(
    `/api/lists/${encodeURIComponent(list.name)}?offset=${offset}&limit=${limit}`,
    5000,
  );
  // A page of this list at this offset and size: not the previous one, still shown while the next loads.
  const page =
    data && data.name === list.name && data.offset === offset && data.limit === limit ? data : null;
  const info = page ?? list;
  const where = pageOf(offset, limit, info.size);
  const filtered = page ? filterEntries(page.entries, page.offset, query, info.kind) : null;
  const parsed = parseEntriesText(text, info.kind);
  const noReason = reason.trim() === '';

  const change = (operation: 'add' | 'remove', entries: string[], what: string) => {
    setBusy(what);
    setOutcome(null);
    const body = { entries, reason: reason.trim() };
    const path = `/api/lists/${encodeURIComponent(list.name)}/entries`;
    const sent =
      operation === 'add' ? api.post<ChangeAnswer>(path, body) : api.delete<ChangeAnswer>(path, body);
    sent.then(
      (r) => {
        setBusy(null);
        const changed = (operation === 'add' ? r.added : r.removed) ?? [];
        setOutcome({ ok: true, text: changeDoneText(operation, { ...r, changed }) });
        if (operation === 'add') setText('');
        reload();
        onChanged();
      },
      (e: Error) => {
        setBusy(null);
        setOutcome({
          ok: false,
          text:
            e instanceof ApiError
              ? changeFailedText(e.status, e.message, e.retryAfter)
              : changeFailedText(undefined, e.message),
        });
        reload();
        onChanged();
      },
    );
  };

  // The list shrank below this page (entries removed here or elsewhere): show its last page instead.
  useEffect(() => {
    if (page && page.entries.length === 0 && offset > 0) setOffset(clampOffset(offset, limit, page.size));
  }, [page, offset, limit]);

  const goTo = (next: number) => setOffset(clampOffset(next, limit, info.size));

  return (
    <section className="card" data-testid="list-entries">
      <h3>
        Entries of <code>{list.name}</code>{' '}
        <span className="hint">
          ({info.kind}
          {info.action ? `, ${info.action}` : ''}
          {info.class ? `, class ${info.class}` : ''})
        </span>
      </h3>
      {editor && (
        <div className="list-editor">
          <label className="field">
            Entries to add to {list.name}
            <textarea
              rows={3}
              spellCheck={false}
              value={text}
              placeholder={PLACEHOLDER[info.kind]}
              onChange={(e) => setText(e.target.value)}
            />
          </label>
          <label className="field">
            Reason for the change (recorded in the audit log; needed to add or remove)
            <input
              type="text"
              value={reason}
              maxLength={500}
              placeholder="e.g. INC-42: scraping from this range"
              onChange={(e) => setReason(e.target.value)}
            />
          </label>
          <div className="toolbar">
            <button
              type="button"
              className="primary"
              disabled={busy !== null || parsed.problem !== null || noReason}
              onClick={() => change('add', parsed.entries, 'add')}
            >
              {busy === 'add'
                ? 'Adding…'
                : parsed.entries.length === 0
                  ? 'Add entries'
                  : `Add ${parsed.entries.length === 1 ? '1 entry' : `${parsed.entries.length} entries`}`}
            </button>
            <span className="hint">
              {text.trim() !== '' && parsed.problem
                ? parsed.problem
                : noReason
                  ? 'Give a reason to add or remove entries.'
                  : parsed.duplicates > 0
                    ? `${parsed.duplicates} typed twice, sent once.`
                    : 'The edge checks every entry; one bad entry refuses the whole change.'}
            </span>
          </div>
        </div>
      )}
      <OutcomeLine outcome={outcome} />
      <div className="toolbar">
        <input
          type="search"
          aria-label="Filter entries"
          placeholder={
            info.kind === 'ip'
              ? 'Is an address or range on this page? e.g. 192.0.2.9, or any text'
              : 'Filter entries'
          }
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <select
          aria-label="Entries per page"
          value={limit}
          onChange={(e) => {
            setLimit(Number(e.target.value));
            setOffset(0);
          }}
        >
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n.toLocaleString('en-US')} per page
            </option>
          ))}
        </select>
        <button type="button" disabled={where.prev === null} onClick={() => goTo(where.prev ?? 0)}>
          Previous
        </button>
        <span data-testid="page-position">
          {info.size === 0
            ? 'no entries'
            : `${where.first.toLocaleString('en-US')}–${where.last.toLocaleString('en-US')} of ${info.size.toLocaleString('en-US')}`}
        </span>
        <button type="button" disabled={where.next === null} onClick={() => goTo(where.next ?? 0)}>
          Next
        </button>
      </div>
      <p className="hint" data-testid="filter-scope">
        {where.first === 1 && where.last === info.size
          ? 'The filter checks the whole list: every entry is loaded.'
          : `The filter checks only the entries loaded (${where.first}–${where.last}), not the whole list: the admin API has no lookup. Show ${PAGE_SIZES[PAGE_SIZES.length - 1]!.toLocaleString('en-US')} per page to check more at once.`}{' '}
        {info.kind === 'ip' && 'An address or range finds the entries that cover it.'}
      </p>
      {error && <ErrorBox message={error} />}
      {!page || !filtered ? (
        !error && <Loading what={`entries of ${list.name}`} />
      ) : info.size === 0 ? (
        <p className="state empty">{list.name} has no entries in force.</p>
      ) : (
        <>
          {filtered.mode !== 'all' && (
            <p className="hint" role="status" data-testid="filter-result">
              {filtered.rows.length === 0
                ? filtered.mode === 'covers'
                  ? `No entry loaded covers ${query.trim()}.`
                  : `No entry loaded matches “${query.trim()}”.`
                : filtered.mode === 'covers'
                  ? `${query.trim()} is covered by ${filtered.rows.length === 1 ? '1 entry' : `${filtered.rows.length} entries`} loaded.`
                  : `${filtered.rows.length} of ${page.entries.length} loaded entries match.`}
            </p>
          )}
          <div className="table-wrap">
            <table data-testid="entries">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Entry</th>
                  <th>From</th>
                  {editor && <th />}
                </tr>
              </thead>
              <tbody>
                {filtered.rows.map((r) => {
                  const origin = entryOrigin(r.index, page.size, page.added);
                  return (
                    <tr key={r.entry} data-entry={r.entry}>
                      <td className="hint">{r.index + 1}</td>
                      <td className="wrap-anywhere">
                        <code>{r.entry}</code>
                      </td>
                      <td>
                        {origin === 'runtime' ? (
                          <span className="badge system">added at runtime</span>
                        ) : (
                          <span className="hint">{page.file !== null ? 'file' : 'policy set'}</span>
                        )}
                      </td>
                      {editor && (
                        <td>
                          <button
                            type="button"
                            disabled={busy !== null || noReason}
                            title={noReason ? 'Give a reason above first' : undefined}
                            aria-label={`Remove ${r.entry}`}
                            onClick={() => change('remove', [r.entry], r.entry)}
                          >
                            {busy === r.entry ? 'Removing…' : 'Remove'}
                          </button>
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {editor && page.removed > 0 && (
            <p className="hint">
              {page.removed} {page.removed === 1 ? 'entry' : 'entries'} of the{' '}
              {page.file !== null ? 'file' : 'policy set'} removed at runtime stay removed when the file
              reloads, until added back.
            </p>
          )}
        </>
      )}
    </section>
  );
}
