// The Lists page's logic: the entries an operator typed (one or more a line), paging through a list's
// entries, where each entry in force comes from, and the filter over the page loaded. No DOM use, so the
// unit tests load it under Node.

import { covers, parseIpRange } from './ip-match.js';

export type ListKind = 'ip' | 'api_key' | 'user' | 'tenant' | 'user_agent';

/** Most entries one change may carry (the API's MAX_ENTRIES_PER_CHANGE). */
export const MAX_ENTRIES_PER_CHANGE = 10_000;
/** Most entries one page may hold (the API's largest `limit`). */
export const MAX_PAGE = 10_000;
export const PAGE_SIZES = [100, 1000, MAX_PAGE] as const;

export interface ParsedEntries {
  /** Each entry once, in the order typed. */
  entries: string[];
  /** Entries typed more than once (sent once). */
  duplicates: number;
  /** Why nothing can be sent, or null. */
  problem: string | null;
}

/**
 * The entries of the "add" box. Addresses and identities have no spaces, so they may be separated by
 * spaces, commas (addresses) or new lines; a user agent holds spaces, so it is one a line. For addresses,
 * "#" starts a comment, as in a list file. Checking each entry is the API's job: it names a bad one.
 */
export function parseEntriesText(text: string, kind: ListKind): ParsedEntries {
  const raw: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (kind === 'user_agent') raw.push(line.trim());
    else if (kind === 'ip') raw.push(...line.replace(/#.*$/, '').split(/[\s,]+/));
    else raw.push(...line.split(/\s+/));
  }
  const seen = new Set<string>();
  const entries: string[] = [];
  let duplicates = 0;
  for (const e of raw) {
    if (e === '') continue;
    if (seen.has(e)) duplicates++;
    else {
      seen.add(e);
      entries.push(e);
    }
  }
  const problem =
    entries.length === 0
      ? 'Type at least one entry.'
      : entries.length > MAX_ENTRIES_PER_CHANGE
        ? `${entries.length} entries: at most ${MAX_ENTRIES_PER_CHANGE} can be sent at once.`
        : null;
  return { entries, duplicates, problem };
}

export interface PageInfo {
  /** 1-based first and last entry shown; 0 and 0 when the list is empty. */
  first: number;
  last: number;
  /** Offset of the previous and next page, or null when there is none. */
  prev: number | null;
  next: number | null;
  /** Offset of the last page. */
  lastOffset: number;
}

/** Where a page of `limit` entries from `offset` sits in a list of `size` entries. */
export function pageOf(offset: number, limit: number, size: number): PageInfo {
  const lastOffset = size === 0 ? 0 : Math.floor((size - 1) / limit) * limit;
  const first = offset < size ? offset + 1 : 0;
  const last = offset < size ? Math.min(offset + limit, size) : 0;
  return {
    first,
    last,
    prev: offset > 0 ? Math.max(0, Math.min(offset - limit, lastOffset)) : null,
    next: offset + limit < size ? offset + limit : null,
    lastOffset,
  };
}

/** An offset a page can start at: a whole number, not past the last page (a list shrank, or a bad URL). */
export function clampOffset(offset: number, limit: number, size: number): number {
  if (!Number.isInteger(offset) || offset < 0) return 0;
  return Math.min(offset, pageOf(0, limit, size).lastOffset);
}

/**
 * Where the entry at `index` of a list comes from. The API gives a list's entries in force in order:
 * those of its file and the policy set (less any removed at runtime), then the `added` runtime entries.
 */
export function entryOrigin(index: number, size: number, added: number): 'runtime' | 'file' {
  return index >= size - added ? 'runtime' : 'file';
}

export interface ShownEntry {
  entry: string;
  /** Position in the whole list (0-based). */
  index: number;
}

export interface Filtered {
  rows: ShownEntry[];
  /** How the query was read: every row (empty query), ranges covering an address or range, or text. */
  mode: 'all' | 'covers' | 'text';
}

function patternMatches(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return false;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'i').test(value);
}

/**
 * The rows of the loaded page that answer `query`. On an IP list, an address or range keeps the entries
 * that cover it (is 192.0.2.9 on this list?), so "10.1.2.3" finds "10.0.0.0/8"; anything else is text,
 * matched ignoring case. On a user-agent list, a pattern entry also matches the user agent typed.
 */
export function filterEntries(
  entries: readonly string[],
  offset: number,
  query: string,
  kind: ListKind,
): Filtered {
  const all = entries.map((entry, i) => ({ entry, index: offset + i }));
  const q = query.trim();
  if (q === '') return { rows: all, mode: 'all' };
  if (kind === 'ip') {
    const wanted = parseIpRange(q);
    if (wanted !== null)
      return {
        rows: all.filter((r) => {
          const range = parseIpRange(r.entry);
          return range !== null && covers(range, wanted);
        }),
        mode: 'covers',
      };
  }
  const lower = q.toLowerCase();
  return {
    rows: all.filter(
      (r) => r.entry.toLowerCase().includes(lower) || (kind === 'user_agent' && patternMatches(r.entry, q)),
    ),
    mode: 'text',
  };
}

/** The entries in force of a list by where they come from: "1,204 from the file, 3 added at runtime". */
export function countsText(
  size: number,
  added: number,
  removed: number,
  hasFile: boolean,
): { base: string; runtime: string } {
  const n = (x: number) => x.toLocaleString('en-US');
  const runtime: string[] = [];
  if (added > 0) runtime.push(`+${n(added)} added`);
  if (removed > 0) runtime.push(`−${n(removed)} removed`);
  return {
    base: `${n(size - added)} from ${hasFile ? 'the file' : 'the policy set'}`,
    runtime: runtime.length === 0 ? 'no runtime changes' : `${runtime.join(', ')} at runtime`,
  };
}

/** Entries named in an outcome line: the first few, then how many more. */
export function someEntries(entries: readonly string[], shown = 5): string {
  const head = entries.slice(0, shown).join(', ');
  return entries.length > shown ? `${head} and ${entries.length - shown} more` : head;
}

/** What a change's answer says, for the outcome line. */
export function changeDoneText(
  operation: 'add' | 'remove',
  answer: { list: string; version: number; size: number; audit_id: number; changed: readonly string[] },
): string {
  const { list, version, size, audit_id, changed } = answer;
  if (changed.length === 0)
    return operation === 'add'
      ? `Nothing changed: every entry is already on ${list} (version ${version}).`
      : `Nothing changed: no such entry is on ${list} (version ${version}).`;
  const n = changed.length === 1 ? '1 entry' : `${changed.length.toLocaleString('en-US')} entries`;
  const verb = operation === 'add' ? `Added ${n} to` : `Removed ${n} from`;
  return `${verb} ${list} (${someEntries(changed)}): version ${version}, ${size.toLocaleString('en-US')} entries in force; audit entry ${audit_id}.`;
}

/** What a refused change means, with the API's own words: a bad entry (400), Redis down (503), … */
export function changeFailedText(
  status: number | undefined,
  message: string,
  retryAfterSeconds?: number,
): string {
  if (status === 400) return `Refused, nothing changed (400): ${message}`;
  if (status === 403) return `Refused (403): ${message}`;
  if (status === 404) return `No such list (404): ${message}`;
  if (status === 503) {
    const when = retryAfterSeconds === undefined ? 'in a few seconds' : `in ${retryAfterSeconds} s`;
    return `Redis cannot take the change now (503), try again ${when}: ${message}`;
  }
  if (status === 0 || status === undefined) return message;
  return `The change failed (${status}): ${message}`;
}
