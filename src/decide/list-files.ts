// Keeps the list files of the policy set in force: one WatchedFile per file, polled with POLICY_FILE. A
// changed file is parsed off the hot path and its entries swapped into the engine's ListStore in one step;
// a file with a bad line, or one that cannot be read, is refused whole and its last good entries stay in
// force (logged with file and line, counted in rls_list_reloads_total{result="error"}). Re-matched to the
// lists after every policy reload, so a list that names a new file starts watching it.

import { ConfigError } from '../lib/config-error.js';
import type { ListKind } from '../lib/lists/list-format.js';
import { ListFileError, parseListText } from '../lib/lists/list-format.js';
import type { ListStore } from '../lib/lists/list-store.js';
import { WatchedFile } from '../limits/watched-file.js';
import type { Logger } from '../observe/logger.js';

export type ListReloadResult = 'applied' | 'error';

interface Watch {
  readonly file: string;
  readonly kind: ListKind;
  readonly watched: WatchedFile;
}

export class ListFiles {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly store: ListStore,
    private readonly options: {
      intervalMs: number;
      log: Logger;
      now: () => number;
      /** After each reload that applied or refused a file (not for an unchanged one). */
      onResult?: (list: string, result: ListReloadResult) => void;
    },
  ) {}

  /** Watches exactly the files of the lists in force (call after start and after every policy reload). */
  sync(): void {
    const wanted = new Map(this.store.files().map((f) => [f.name, f]));
    for (const [name, w] of this.watches) {
      const f = wanted.get(name);
      if (f === undefined || f.file !== w.file || f.kind !== w.kind) {
        w.watched.stop();
        this.watches.delete(name);
      }
    }
    for (const [name, f] of wanted) {
      if (this.watches.has(name)) continue;
      const watched = this.watch(name, f.file, f.kind);
      this.watches.set(name, { file: f.file, kind: f.kind, watched });
      // The policy set read this file a moment ago: this read only sets what the watcher compares with.
      void watched.loadInitial().then(
        () => watched.start(this.options.intervalMs),
        (err: unknown) => {
          this.refused(name, f.file, (err as Error).message);
          watched.start(this.options.intervalMs);
        },
      );
    }
  }

  /** Re-reads every list file now (SIGHUP); never throws. */
  async reload(): Promise<void> {
    await Promise.all([...this.watches.values()].map((w) => w.watched.reload()));
  }

  /** Each watched list's file and its last refusal, if the file is refused now. */
  status(): { list: string; file: string; lastError: { timeMs: number; message: string } | undefined }[] {
    return [...this.watches].map(([list, w]) => ({
      list,
      file: w.file,
      lastError: w.watched.status.lastError,
    }));
  }

  stop(): void {
    for (const w of this.watches.values()) w.watched.stop();
    this.watches.clear();
  }

  private watch(name: string, file: string, kind: ListKind): WatchedFile {
    return new WatchedFile(
      file,
      ([only]) => {
        const entries = parseListText(only!.text, kind, file);
        this.store.setFileEntries(name, entries);
        return `${entries.length} entries`;
      },
      {
        label: 'list file',
        // List files can be megabytes: a poll reads one only when its inode, size or modification time moved.
        statFirst: true,
        isRefusal: (err) => err instanceof ListFileError || err instanceof ConfigError,
        onResult: (result, detail, _checksum, repeated) => {
          if (result === 'applied') {
            this.options.log.info({ list: name, list_file: file }, `list file applied: ${name}: ${detail}`);
            this.options.onResult?.(name, 'applied');
          } else if (!repeated) this.refused(name, file, detail);
        },
        now: this.options.now,
      },
    );
  }

  private refused(name: string, file: string, detail: string): void {
    this.options.log.error(
      { list: name, list_file: file },
      `list file refused, keeping the last good entries of ${name}: ${detail}`,
    );
    this.options.onResult?.(name, 'error');
  }
}
