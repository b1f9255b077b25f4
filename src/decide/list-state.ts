// Runtime list changes (the admin API) kept in STATE_DIR/lists.json, so a restart comes back with them, as
// runtime limits do. Written whole and atomically after every change (writes are queued, so the file ends as
// the last change left it); read once at start and applied to the lists still defined with the same kind.
// A saved entry the list no longer accepts, or a list that is gone, is skipped with a warning, never fatal.

import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ListKind } from '../lib/lists/list-format.js';
import type { ListStore } from '../lib/lists/list-store.js';
import { ListChangeError } from '../lib/lists/list-store.js';
import { makePrivateDir, writeFileAtomic } from '../limits/atomic-file.js';
import type { Logger } from '../observe/logger.js';

interface SavedList {
  name: string;
  kind: ListKind;
  added: string[];
  removed: string[];
}

function isSavedList(value: unknown): value is SavedList {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const strings = (x: unknown): boolean => Array.isArray(x) && x.every((e) => typeof e === 'string');
  return (
    typeof v['name'] === 'string' &&
    typeof v['kind'] === 'string' &&
    strings(v['added']) &&
    strings(v['removed'])
  );
}

export class ListStateFile {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly store: ListStore,
    private readonly log: Logger,
  ) {}

  /** Applies the saved runtime changes; returns how many lists had some. Never throws for a bad file. */
  async restore(): Promise<number> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let lists: unknown;
    try {
      lists = (JSON.parse(text) as { lists?: unknown }).lists;
    } catch (err) {
      this.log.warn(
        { state_file: this.path },
        `runtime list changes not restored: ${(err as Error).message}`,
      );
      return 0;
    }
    let restored = 0;
    for (const saved of Array.isArray(lists) ? lists : []) {
      if (!isSavedList(saved)) continue;
      const info = this.store.info(saved.name);
      if (info?.kind !== saved.kind) {
        this.log.warn(
          { state_file: this.path, list: saved.name },
          `runtime changes of list ${saved.name} not restored: the policy set has no ${saved.kind} list of that name`,
        );
        continue;
      }
      try {
        if (saved.added.length > 0) this.store.add(saved.name, saved.added);
        if (saved.removed.length > 0) this.store.remove(saved.name, saved.removed);
        restored++;
      } catch (err) {
        if (!(err instanceof ListChangeError)) throw err;
        this.log.warn(
          { state_file: this.path, list: saved.name },
          `runtime changes of ${saved.name} not restored: ${err.message}`,
        );
      }
    }
    return restored;
  }

  /** Writes the runtime changes in force now; resolves once they are on disk (rejects if the write failed). */
  save(): Promise<void> {
    const next = this.writing.then(async () => {
      await makePrivateDir(dirname(this.path));
      await writeFileAtomic(this.path, `${JSON.stringify({ lists: this.store.overlays() })}\n`);
    });
    // A failed write must not stop the ones queued after it.
    this.writing = next.catch(() => {});
    return next;
  }
}
