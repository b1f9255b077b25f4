// The lists in force and what changed them: each list's entries are its file's (reloaded on change) and
// the policy set's inline ones, plus the entries added and minus those removed at runtime (the admin API).
// Every change bumps the list's version and updates the ListIndex synchronously (in place for a small
// change, a new index swapped in one assignment for a large one), so a decision sees a list wholly before or
// wholly after a change. Survives a policy reload: a list still defined with the same kind keeps its runtime
// changes.

import type { ListDefinition } from './list-definitions.js';
import type { ListKind } from './list-format.js';
import { canonicalEntry } from './list-format.js';
import { ListIndex } from './list-index.js';

export interface ListInfo {
  name: string;
  kind: ListKind;
  action: 'allow' | 'block' | undefined;
  class: string | undefined;
  file: string | undefined;
  /** Entries in force. */
  size: number;
  /** Bumped by every change: a file reload, a runtime addition or removal, a policy reload that changed it. */
  version: number;
  /** Entries added at runtime (not in the file or the policy set), and file/inline entries removed at runtime. */
  added: number;
  removed: number;
}

/** An edit of a list's runtime sets: entries put into and dropped from its added and its removed set. */
export interface OverlayDiff {
  addedPut: string[];
  addedDrop: string[];
  removedPut: string[];
  removedDrop: string[];
}

/** A change that cannot be made: unknown list (404) or a bad entry (400). Nothing changed. */
export class ListChangeError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'ListChangeError';
  }
}

interface ListState {
  def: ListDefinition;
  fileEntries: readonly string[];
  base: Set<string>;
  added: Set<string>;
  removed: Set<string>;
  version: number;
  size: number;
}

function baseOf(fileEntries: readonly string[], inline: readonly string[]): Set<string> {
  const base = new Set(fileEntries);
  for (const e of inline) base.add(e);
  return base;
}

/** After the base changed: a runtime addition now in the file is simply in the file; a removal of an entry no longer there is moot. */
function normalize(s: ListState): void {
  for (const e of s.added) if (s.base.has(e)) s.added.delete(e);
  for (const e of s.removed) if (!s.base.has(e)) s.removed.delete(e);
}

function inForce(s: ListState, e: string): boolean {
  return s.added.has(e) || (s.base.has(e) && !s.removed.has(e));
}

function* effective(s: ListState): Iterable<string> {
  for (const e of s.base) if (!s.removed.has(e)) yield e;
  for (const e of s.added) yield e;
}

export class ListStore {
  private states = new Map<string, ListState>();
  private current: ListIndex = ListIndex.EMPTY;
  private baseChanges = 0;

  constructor(lists: readonly ListDefinition[] = []) {
    this.define(lists);
  }

  /** What the engine looks requests up in: replaced whole by every change. */
  get index(): ListIndex {
    return this.current;
  }

  /** The lists of a (re)loaded policy set. Runtime changes of a list kept with the same kind carry over. */
  define(lists: readonly ListDefinition[]): void {
    const next = new Map<string, ListState>();
    for (const def of lists) {
      const old = this.states.get(def.name);
      const keep = old !== undefined && old.def.kind === def.kind;
      const base = baseOf(def.fileEntries, def.inline);
      next.set(def.name, {
        def,
        fileEntries: def.fileEntries,
        base,
        added: keep ? old.added : new Set(),
        removed: keep ? old.removed : new Set(),
        version: keep
          ? old.version + (sameEntries(old.base, base) && old.def.effect === def.effect ? 0 : 1)
          : 1,
        size: 0,
      });
      normalize(next.get(def.name)!);
    }
    this.states = next;
    this.baseChanges++;
    this.rebuild();
  }

  /** A list file's new content; false (nothing rebuilt) when it is what is in force already. */
  setFileEntries(name: string, entries: readonly string[]): boolean {
    const s = this.states.get(name);
    if (s === undefined) return false;
    const base = baseOf(entries, s.def.inline);
    if (sameEntries(s.base, base)) return false;
    const touched: string[] = [];
    for (const e of s.base) if (!base.has(e)) touched.push(e);
    for (const e of base) if (!s.base.has(e)) touched.push(e);
    s.fileEntries = entries;
    s.base = base;
    this.baseChanges++;
    normalize(s);
    s.version++;
    this.update(s, touched);
    return true;
  }

  /** Adds entries at runtime; returns those that were not in force before (canonical). */
  add(name: string, entries: readonly string[]): { changed: string[]; version: number } {
    const s = this.state(name);
    const planned = this.plan(name, 'add', this.canonical(s, entries));
    this.applyDiff(name, planned.diff);
    return { changed: planned.changed, version: s.version };
  }

  /** Removes entries at runtime (from the file's and policy set's too); returns those that were in force. */
  remove(name: string, entries: readonly string[]): { changed: string[]; version: number } {
    const s = this.state(name);
    const planned = this.plan(name, 'remove', this.canonical(s, entries));
    this.applyDiff(name, planned.diff);
    return { changed: planned.changed, version: s.version };
  }

  /** `entries` in canonical form for list `name`; throws ListChangeError (404, or 400 naming each bad entry). */
  canonicalize(name: string, entries: readonly string[]): string[] {
    return this.canonical(this.state(name), entries);
  }

  /**
   * What adding or removing canonical `entries` would change, without changing anything: the entries whose
   * state changes, and the edit of the runtime sets that makes it. Shared lists write the edit to Redis first
   * and apply it here (applyDiff) only once it is written there.
   */
  plan(
    name: string,
    operation: 'add' | 'remove',
    entries: readonly string[],
  ): { changed: string[]; diff: OverlayDiff } {
    const s = this.state(name);
    const diff: OverlayDiff = { addedPut: [], addedDrop: [], removedPut: [], removedDrop: [] };
    const changed: string[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e)) continue;
      seen.add(e);
      if (operation === 'add') {
        if (s.removed.has(e)) diff.removedDrop.push(e);
        else if (!s.base.has(e) && !s.added.has(e)) diff.addedPut.push(e);
        else continue;
      } else if (s.added.has(e)) diff.addedDrop.push(e);
      else if (s.base.has(e) && !s.removed.has(e)) diff.removedPut.push(e);
      else continue;
      changed.push(e);
    }
    return { changed, diff };
  }

  /**
   * Applies an edit of the runtime sets (planned here, or read from another replica); true when entries in
   * force changed, which bumps the list's version. Entries a set cannot hold here (an addition already in
   * this replica's file, a removal of an entry it does not have) are dropped, as after a file reload.
   */
  applyDiff(name: string, diff: OverlayDiff): boolean {
    const s = this.state(name);
    const touched = new Set<string>([
      ...diff.addedPut,
      ...diff.addedDrop,
      ...diff.removedPut,
      ...diff.removedDrop,
    ]);
    if (touched.size === 0) return false;
    let before = 0;
    for (const e of touched) if (inForce(s, e)) before++;
    for (const e of diff.addedDrop) s.added.delete(e);
    for (const e of diff.removedDrop) s.removed.delete(e);
    for (const e of diff.addedPut) s.added.add(e);
    for (const e of diff.removedPut) s.removed.add(e);
    normalize(s);
    const changed: string[] = [];
    let after = 0;
    for (const e of touched) {
      const now = inForce(s, e);
      if (now) after++;
      changed.push(e);
    }
    s.version++;
    this.update(s, changed, after - before);
    return true;
  }

  /** The runtime sets of list `name` as they are: entries added beyond, and removed from, file and policy set. */
  overlay(name: string): { added: string[]; removed: string[] } | undefined {
    const s = this.states.get(name);
    return s === undefined ? undefined : { added: [...s.added], removed: [...s.removed] };
  }

  /** Makes the runtime sets of list `name` these (another replica's, read from Redis); true when entries changed. */
  setOverlay(name: string, added: readonly string[], removed: readonly string[]): boolean {
    const s = this.state(name);
    const want = { added: new Set(added), removed: new Set(removed) };
    const diff: OverlayDiff = { addedPut: [], addedDrop: [], removedPut: [], removedDrop: [] };
    for (const e of s.added) if (!want.added.has(e)) diff.addedDrop.push(e);
    for (const e of want.added) if (!s.added.has(e) && !s.base.has(e)) diff.addedPut.push(e);
    for (const e of s.removed) if (!want.removed.has(e)) diff.removedDrop.push(e);
    for (const e of want.removed) if (!s.removed.has(e) && s.base.has(e)) diff.removedPut.push(e);
    return this.applyDiff(name, diff);
  }

  /**
   * Rises each time a list's base changes (a policy reload, a file reload): normalizing against the new base
   * may have dropped runtime entries that a shared copy (Redis) still holds, so a sharer reads them again.
   */
  get generation(): number {
    return this.baseChanges;
  }

  has(name: string): boolean {
    return this.states.has(name);
  }

  info(name: string): ListInfo | undefined {
    const s = this.states.get(name);
    if (s === undefined) return undefined;
    const { def } = s;
    return {
      name: def.name,
      kind: def.kind,
      action: def.action,
      class: def.class,
      file: def.file,
      size: s.size,
      version: s.version,
      added: s.added.size,
      removed: s.removed.size,
    };
  }

  infos(): ListInfo[] {
    return [...this.states.keys()].map((name) => this.info(name)!);
  }

  /** The entries in force, in order: file and inline entries (minus removed ones), then runtime additions. */
  entries(name: string): string[] | undefined {
    const s = this.states.get(name);
    return s === undefined ? undefined : [...effective(s)];
  }

  /** The runtime changes of every list that has some: what a restart must apply again to be where it was. */
  overlays(): { name: string; kind: ListKind; added: string[]; removed: string[] }[] {
    const out: { name: string; kind: ListKind; added: string[]; removed: string[] }[] = [];
    for (const [name, st] of this.states)
      if (st.added.size > 0 || st.removed.size > 0)
        out.push({ name, kind: st.def.kind, added: [...st.added], removed: [...st.removed] });
    return out;
  }

  /** Lists read from files, for the watcher: name, kind and file. */
  files(): { name: string; kind: ListKind; file: string }[] {
    const out: { name: string; kind: ListKind; file: string }[] = [];
    for (const { def } of this.states.values())
      if (def.file !== undefined) out.push({ name: def.name, kind: def.kind, file: def.file });
    return out;
  }

  private state(name: string): ListState {
    const s = this.states.get(name);
    if (s === undefined) throw new ListChangeError(404, `no list is named ${JSON.stringify(name)}`);
    return s;
  }

  private canonical(s: ListState, entries: readonly string[]): string[] {
    const out: string[] = [];
    const problems: string[] = [];
    entries.forEach((raw, i) => {
      const c = canonicalEntry(s.def.kind, raw);
      if ('problem' in c) problems.push(`entries[${i}]: ${c.problem}`);
      else out.push(c.entry);
    });
    if (problems.length > 0)
      throw new ListChangeError(400, `not a valid ${s.def.kind} entry: ${problems.slice(0, 10).join('; ')}`);
    return out;
  }

  /**
   * After entries of `s` changed: sets each touched entry's effect in the index in place (a decision runs
   * wholly before or after this synchronous call), so a small change to a large list costs what it touches.
   * A change to most of the entries, or to user agents (exact ones share case-folded keys across lists,
   * patterns are a list), rebuilds the whole index instead; a rebuild also drops the trie's emptied nodes.
   */
  private update(s: ListState, touched: readonly string[], sizeChange?: number): void {
    const kind = s.def.kind;
    if (kind === 'user_agent' || touched.length * 2 > this.entryCount()) return this.rebuild();
    for (const e of touched) this.current.setEffect(kind, e, this.effectOf(kind, e));
    // A runtime change knows how many entries it changed; a file reload counts again.
    s.size = sizeChange === undefined ? sizeOf(s) : s.size + sizeChange;
  }

  /** The OR of the effects of every list of `kind` that has `entry` in force. */
  private effectOf(kind: ListKind, entry: string): number {
    let effect = 0;
    for (const t of this.states.values()) {
      if (t.def.kind !== kind) continue;
      if (t.added.has(entry) || (t.base.has(entry) && !t.removed.has(entry))) effect |= t.def.effect;
    }
    return effect;
  }

  private entryCount(): number {
    let n = 0;
    for (const t of this.states.values()) n += t.size;
    return n;
  }

  private rebuild(): void {
    for (const s of this.states.values()) s.size = sizeOf(s);
    this.current = new ListIndex(
      [...this.states.values()].map((s) => ({
        kind: s.def.kind,
        effect: s.def.effect,
        entries: effective(s),
      })),
    );
  }
}

function sizeOf(s: ListState): number {
  let size = s.added.size;
  for (const e of s.base) if (!s.removed.has(e)) size++;
  return size;
}

function sameEntries(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const e of a) if (!b.has(e)) return false;
  return true;
}
