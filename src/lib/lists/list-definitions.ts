// The `lists:` section of a policy set (and the inline `allow:`/`block:` lists) compiled into list
// definitions: each named list's kind, effect (block, allow, reputation class) and entries, with the
// entries of a named file read and checked at compile time. Every problem is reported with its path.

import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { IdentityListInput, ListInput } from '../policy/policy-schema.js';
import { ALLOW_EFFECT, BLOCK_EFFECT, FIRST_CLASS_BIT, MAX_CLASSES } from './list-index.js';
import type { ListKind } from './list-format.js';
import { canonicalEntry, ListFileError, parseListText } from './list-format.js';

export interface ListDefinition {
  readonly name: string;
  readonly kind: ListKind;
  readonly action: 'allow' | 'block' | undefined;
  readonly class: string | undefined;
  /** The file as resolved (absolute, or as given when the reader is the caller's); undefined for none. */
  readonly file: string | undefined;
  readonly effect: number;
  /** The file's entries, canonical, as read at compile time. */
  readonly fileEntries: readonly string[];
  /** Entries written in the policy set itself. */
  readonly inline: readonly string[];
}

export interface ListReadOptions {
  /** Reads a list file (default: node:fs, relative paths from `baseDir`); throw to refuse it. */
  readList?: (file: string) => string;
  /** Where relative list files are (default: the working directory). The service uses POLICY_FILE's folder. */
  baseDir?: string;
}

export interface ListIssue {
  path: string;
  message: string;
}

export interface CompiledLists {
  readonly lists: readonly ListDefinition[];
  /** Class name → its effect bit. */
  readonly classBits: ReadonlyMap<string, number>;
}

/** A list file's path as the reader will see it. */
export function resolveListFile(file: string, options: ListReadOptions): string {
  if (options.readList !== undefined || isAbsolute(file)) return file;
  return resolve(options.baseDir ?? process.cwd(), file);
}

/** Reads and parses a list file; throws ListFileError (bad lines) or an Error naming the file (unreadable). */
export function readListFile(file: string, kind: ListKind, options: ListReadOptions): string[] {
  let text: string;
  try {
    text = options.readList !== undefined ? options.readList(file) : readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
  return parseListText(text, kind, file);
}

// The identity fields of an inline allow/block section; its `countries` and `asns` are geography rules
// (src/lib/policy/geo-rules.ts), not lists.
const INLINE_KINDS: [Exclude<keyof IdentityListInput, 'countries' | 'asns'>, ListKind][] = [
  ['ips', 'ip'],
  ['users', 'user'],
  ['api_keys', 'api_key'],
  ['tenants', 'tenant'],
];

export function compileLists(
  input: {
    lists?: readonly ListInput[] | undefined;
    allow?: IdentityListInput | undefined;
    block?: IdentityListInput | undefined;
  },
  options: ListReadOptions,
  issues: ListIssue[],
): CompiledLists {
  const out: ListDefinition[] = [];
  const classBits = new Map<string, number>();
  const names = new Map<string, string>();
  const entriesOf = (kind: ListKind, values: readonly string[], at: string): string[] => {
    const entries: string[] = [];
    values.forEach((v, i) => {
      const c = canonicalEntry(kind, v);
      if ('problem' in c) issues.push({ path: `${at}[${i}]`, message: c.problem });
      else entries.push(c.entry);
    });
    return entries;
  };
  // The inline lists become lists like the others ("block.ips", "allow.users", …), editable at runtime too.
  for (const action of ['block', 'allow'] as const) {
    const section = input[action];
    if (section === undefined) continue;
    for (const [field, kind] of INLINE_KINDS) {
      const values = section[field];
      if (values === undefined) continue;
      const name = `${action}.${field}`;
      names.set(name, `${action}.${field}`);
      out.push({
        name,
        kind,
        action,
        class: undefined,
        file: undefined,
        effect: action === 'block' ? BLOCK_EFFECT : ALLOW_EFFECT,
        fileEntries: [],
        inline: entriesOf(kind, values, `${action}.${field}`),
      });
    }
  }
  input.lists?.forEach((l, i) => {
    const at = `lists[${i}]`;
    const clash = names.get(l.name);
    if (clash !== undefined) {
      issues.push({ path: `${at}.name`, message: `"${l.name}" is already the name of ${clash}` });
      return;
    }
    names.set(l.name, at);
    if (l.action === undefined && l.class === undefined) {
      issues.push({
        path: at,
        message: 'give an action (allow or block), a class (e.g. class: tor), or both',
      });
      return;
    }
    let effect = l.action === 'block' ? BLOCK_EFFECT : l.action === 'allow' ? ALLOW_EFFECT : 0;
    if (l.class !== undefined) {
      let bit = classBits.get(l.class);
      if (bit === undefined) {
        if (classBits.size === MAX_CLASSES) {
          issues.push({ path: `${at}.class`, message: `at most ${MAX_CLASSES} classes in one policy set` });
          return;
        }
        bit = 1 << (FIRST_CLASS_BIT + classBits.size);
        classBits.set(l.class, bit);
      }
      effect |= bit;
    }
    let fileEntries: string[] = [];
    let file: string | undefined;
    if (l.file !== undefined) {
      file = resolveListFile(l.file, options);
      try {
        fileEntries = readListFile(file, l.kind, options);
      } catch (err) {
        const message =
          err instanceof ListFileError
            ? `refused:\n    ${err.message.split('\n').join('\n    ')}`
            : (err as Error).message;
        issues.push({ path: `${at}.file`, message });
      }
    }
    out.push({
      name: l.name,
      kind: l.kind,
      action: l.action,
      class: l.class,
      file,
      effect,
      fileEntries,
      inline: entriesOf(l.kind, l.entries ?? [], `${at}.entries`),
    });
  });
  return { lists: out, classBits };
}
