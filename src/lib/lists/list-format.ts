// List files as operators get them: one entry a line with comments, FireHOL netsets (.netset/.ipset),
// Spamhaus DROP (text "1.2.3.0/24 ; SBL123" and the JSON-lines drop_v4.json/drop_v6.json), for addresses,
// identities and user agents. Every entry comes out canonical (so a runtime removal finds a file's entry
// whatever its spelling); any bad line refuses the whole file, each problem named by file and line.

import { tenantIdProblem } from '../identify/tenant-id.js';
import { formatCidr, parseCidr } from './ip-address.js';

export const LIST_KINDS = ['ip', 'api_key', 'user', 'tenant', 'user_agent'] as const;
export type ListKind = (typeof LIST_KINDS)[number];

/** Longest identity or user-agent entry: a line longer than this is a mistake, not an entry. */
export const MAX_ENTRY_LENGTH = 1024;
/** Problems named in one error; the rest are counted. */
const MAX_REPORTED = 10;

export interface ListProblem {
  line: number;
  message: string;
}

/** A list file refused: every bad line, as "file:line: problem". */
export class ListFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly ListProblem[],
  ) {
    const shown = problems.slice(0, MAX_REPORTED).map((p) => `${file}:${p.line}: ${p.message}`);
    if (problems.length > MAX_REPORTED) shown.push(`… and ${problems.length - MAX_REPORTED} more bad lines`);
    super(shown.join('\n'));
    this.name = 'ListFileError';
  }
}

/**
 * One entry in canonical form, or the reason it is not a valid entry of `kind`: a range as "192.0.2.0/24"
 * (an address without a prefix), an identity as given, a user agent as given (matched ignoring case, with
 * "*" standing for any run of characters).
 */
export function canonicalEntry(kind: ListKind, raw: string): { entry: string } | { problem: string } {
  const value = raw.trim();
  if (value === '') return { problem: 'empty entry' };
  if (kind === 'ip') {
    const c = parseCidr(value);
    return typeof c === 'string' ? { problem: c } : { entry: formatCidr(c) };
  }
  if (value.length > MAX_ENTRY_LENGTH)
    return { problem: `${value.length} characters long, more than ${MAX_ENTRY_LENGTH}` };
  if (kind === 'user_agent') return { entry: value };
  if (/\s/.test(value)) return { problem: `${JSON.stringify(value)}: one ${kind} a line, without spaces` };
  if (kind === 'tenant') {
    const problem = tenantIdProblem(value);
    if (problem !== undefined) return { problem: `${JSON.stringify(value)} is not a tenant id: ${problem}` };
  }
  return { entry: value };
}

/** The entry of one line of an address list, '' for a comment or blank line, or undefined for a JSON line without one. */
function addressLineEntry(line: string): string | undefined {
  const trimmed = line.trim();
  if (trimmed.startsWith('{')) {
    // Spamhaus drop_v4.json: {"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}, then a metadata line.
    let record: unknown;
    try {
      record = JSON.parse(trimmed);
    } catch {
      return trimmed;
    }
    const cidr = (record as Record<string, unknown> | null)?.['cidr'];
    return typeof cidr === 'string' ? cidr : '';
  }
  // "#" (FireHOL, plain lists) and ";" (Spamhaus "1.2.3.0/24 ; SBL123") start a comment anywhere.
  let end = trimmed.length;
  const hash = trimmed.indexOf('#');
  const semi = trimmed.indexOf(';');
  if (hash >= 0) end = hash;
  if (semi >= 0 && semi < end) end = semi;
  return trimmed.slice(0, end).trim();
}

/** The entry of one line of an identity or user-agent list, '' for a comment or blank line. */
function textLineEntry(line: string, kind: ListKind): string {
  const trimmed = line.trim();
  if (trimmed.startsWith('#') || trimmed.startsWith(';')) return '';
  // User agents hold ";" and "#" ("Mozilla/5.0 (compatible; …)"): only whole-line comments for them.
  if (kind === 'user_agent') return trimmed;
  const comment = trimmed.search(/\s[#;]/);
  return comment < 0 ? trimmed : trimmed.slice(0, comment).trim();
}

/**
 * The entries of a list file's text, canonical and without duplicates, in file order. Throws
 * ListFileError naming `file` and every bad line.
 */
export function parseListText(text: string, kind: ListKind, file: string): string[] {
  const problems: ListProblem[] = [];
  const seen = new Set<string>();
  const out: string[] = [];
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let line = 1; start <= text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end);
    start = end + 1;
    const entry = kind === 'ip' ? addressLineEntry(raw) : textLineEntry(raw, kind);
    if (entry === '' || entry === undefined) continue;
    if (kind === 'ip' && /\s/.test(entry)) {
      problems.push({ line, message: `${JSON.stringify(entry)}: one address or range a line` });
      continue;
    }
    const c = canonicalEntry(kind, entry);
    if ('problem' in c) {
      problems.push({ line, message: c.problem });
      continue;
    }
    if (seen.has(c.entry)) continue;
    seen.add(c.entry);
    out.push(c.entry);
  }
  if (problems.length > 0) throw new ListFileError(file, problems);
  return out;
}
