// One configuration source on disk, watched: a file, or a directory whose YAML files are read as one content.
// Read at start (unreadable or refused content is then the caller's fatal error), then re-read on a poll or on
// demand (SIGHUP, the admin API). Content that differs from what is in force goes to the owner's parser, which
// puts it in force or refuses it by throwing; a refused or unreadable source leaves the last good content in
// force, and the same refused content is neither parsed nor reported again. The overrides file, POLICY_FILE and
// RATELIMIT_CONFIG all watch their files with it; each keeps its own parser and status fields.

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../lib/config-error.js';
import { FreshRead } from './fresh-read.js';

export interface FileText {
  readonly name: string;
  readonly text: string;
}

/** `unchanged`: the content in force was read again (also the way back from refused content). */
export type WatchResult = 'applied' | 'unchanged' | 'error';

export interface WatchedFileStatus {
  readonly path: string;
  /** The files of the content in force: the path itself, or a directory's YAML files in name order. */
  files: readonly string[];
  /** The last read whose content is in force (applied or unchanged); 0 before the first. */
  lastSuccessMs: number;
  lastAppliedMs: number;
  /** Set while the source is unreadable or its content refused; cleared once good content is read. */
  lastError: { timeMs: number; message: string } | undefined;
}

/**
 * Puts new content in force, or throws to refuse it whole (nothing may change then). Returns a one-line
 * description of what is now in force, for the log. `checksum` identifies the content (sha256, hex).
 */
export type ContentParser = (files: readonly FileText[], checksum: string) => string;

export interface WatchedFileOptions {
  /** Names the source in read errors: "cannot read the <label>: …". */
  label: string;
  /** A directory is read as its *.yaml and *.yml files (not recursive, no dot files); else `path` must be a file. */
  directories?: boolean;
  /**
   * Skip the read when no file's name, inode, size or modification time changed since the last read. Cheap for
   * a directory polled often; an edit that keeps size and mtime within one tick is then missed, so sources that
   * must never miss one (a single file) poll the content instead.
   */
  statFirst?: boolean;
  /** Read synchronously: reloadSync() and the poll apply the content before they return (no read in flight). */
  sync?: boolean;
  /** Which thrown errors mean bad content (refused and reported); any other is a bug and propagates. */
  isRefusal?: (err: unknown) => boolean;
  /**
   * After each applied content and each refusal or failed read (not at start, where the caller decides).
   * `checksum` is '' for a failed read. `repeated`: the read before failed with the same message (a source
   * that stays unreadable), for owners that record a failure once rather than on every poll.
   */
  onResult?: (result: 'applied' | 'error', detail: string, checksum: string, repeated: boolean) => void;
  now?: () => number;
}

const YAML_FILE = /\.ya?ml$/i;

function yamlFiles(dir: string, names: string[]): string[] {
  return names
    .filter((name) => YAML_FILE.test(name) && !name.startsWith('.'))
    .sort()
    .map((name) => join(dir, name));
}

/** sha256 of the text for a single file; for a directory, over every file's name and text in order. */
function checksum(files: readonly FileText[], directories: boolean): string {
  const hash = createHash('sha256');
  if (!directories) return hash.update(files[0]!.text).digest('hex');
  for (const f of files) hash.update(f.name).update('\0').update(f.text).update('\0');
  return hash.digest('hex');
}

/** The files a source holds: the path itself, or a directory's YAML files. Throws what the file system throws. */
function listFiles(path: string, directories: boolean): string[] {
  return directories && statSync(path).isDirectory() ? yamlFiles(path, readdirSync(path)) : [path];
}

function cannotRead(name: string, label: string, err: unknown): ConfigError {
  return new ConfigError(
    name,
    '',
    `cannot read the ${label}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
  );
}

/**
 * Reads a source once, as a WatchedFile does: `path` itself, or (with `directories`) a directory's *.yaml and
 * *.yml files in name order. Throws ConfigError naming the file that could not be read. For one-off readers
 * (a config check) that must see exactly what the watcher would.
 */
export function readSourceFiles(path: string, label: string, directories = false): FileText[] {
  let names: string[];
  try {
    names = listFiles(path, directories);
  } catch (err) {
    throw cannotRead(path, label, err);
  }
  return names.map((name) => {
    try {
      return { name, text: readFileSync(name, 'utf8') };
    } catch (err) {
      throw cannotRead(name, label, err);
    }
  });
}

export class WatchedFile {
  readonly status: WatchedFileStatus;
  private readonly label: string;
  private readonly directories: boolean;
  private readonly statFirst: boolean;
  private readonly sync: boolean;
  private readonly isRefusal: (err: unknown) => boolean;
  private readonly onResult: NonNullable<WatchedFileOptions['onResult']>;
  private readonly now: () => number;
  /** The checksum of the content in force, and of the last refused content. */
  private goodSum: string | undefined;
  private badSum: string | undefined;
  /** statFirst: the fingerprint of the files at the last read. */
  private seen: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly reloading = new FreshRead<WatchResult>(
    async () => this.unchangedOnDisk() ?? this.offer(await this.readAsync()),
  );

  constructor(
    readonly path: string,
    private readonly parse: ContentParser,
    options: WatchedFileOptions,
  ) {
    this.label = options.label;
    this.directories = options.directories ?? false;
    this.statFirst = options.statFirst ?? false;
    this.sync = options.sync ?? false;
    this.isRefusal = options.isRefusal ?? (() => true);
    this.onResult = options.onResult ?? (() => {});
    this.now = options.now ?? Date.now;
    this.status = { path, files: [], lastSuccessMs: 0, lastAppliedMs: 0, lastError: undefined };
  }

  /**
   * Reads and parses the source; throws ConfigError if it cannot be read and the parser's error if it refuses
   * the content (at start both are fatal). Reports nothing: returns what onResult would get.
   */
  async loadInitial(): Promise<{ detail: string; checksum: string }> {
    if (this.statFirst) this.seen = this.fingerprint();
    return this.initial(await this.readAsync());
  }

  loadInitialSync(): { detail: string; checksum: string } {
    if (this.statFirst) this.seen = this.fingerprint();
    return this.initial(this.readSync());
  }

  /**
   * Re-reads now. A call during a read gets one more read after it, so it sees the source as it was when
   * called (FreshRead). Never throws for bad content or an unreadable source.
   */
  reload(): Promise<WatchResult> {
    return this.sync ? Promise.resolve(this.reloadSync()) : this.reloading.run();
  }

  /** Re-reads now, synchronously: the new content (if any) is in force when this returns. */
  reloadSync(): WatchResult {
    return this.unchangedOnDisk() ?? this.offer(this.readSync());
  }

  /** statFirst: the result of the last read when no file changed on disk since; else undefined (read it). */
  private unchangedOnDisk(): WatchResult | undefined {
    if (!this.statFirst) return undefined;
    const print = this.fingerprint();
    if (print !== this.seen) {
      this.seen = print;
      return undefined;
    }
    return this.status.lastError ? 'error' : 'unchanged';
  }

  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.reload(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private initial(read: FileText[] | ConfigError): { detail: string; checksum: string } {
    if (read instanceof ConfigError) throw read;
    const sum = checksum(read, this.directories);
    const detail = this.parse(read, sum);
    this.accept(read, sum);
    return { detail, checksum: sum };
  }

  /** Compares what was read with what is in force, and hands new content to the parser. */
  private offer(read: FileText[] | ConfigError): WatchResult {
    if (read instanceof ConfigError) return this.refuse(read.message, '');
    const sum = checksum(read, this.directories);
    if (sum === this.goodSum) {
      // Touched, rewritten with the same content, or reverted from refused content: nothing to apply.
      this.badSum = undefined;
      this.status.lastError = undefined;
      this.status.lastSuccessMs = this.now();
      return 'unchanged';
    }
    if (sum === this.badSum) return 'error';
    let detail: string;
    try {
      detail = this.parse(read, sum);
    } catch (err) {
      if (!this.isRefusal(err)) throw err;
      this.badSum = sum;
      return this.refuse((err as Error).message, sum);
    }
    this.accept(read, sum);
    this.onResult('applied', detail, sum, false);
    return 'applied';
  }

  private accept(read: readonly FileText[], sum: string): void {
    const now = this.now();
    this.goodSum = sum;
    this.badSum = undefined;
    this.status.files = read.map((f) => f.name);
    this.status.lastSuccessMs = now;
    this.status.lastAppliedMs = now;
    this.status.lastError = undefined;
  }

  private refuse(message: string, sum: string): WatchResult {
    const repeated = this.status.lastError?.message === message;
    this.status.lastError = { timeMs: this.now(), message };
    this.onResult('error', message, sum, repeated);
    return 'error';
  }

  private readSync(): FileText[] | ConfigError {
    try {
      return readSourceFiles(this.path, this.label, this.directories);
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
  }

  private async readAsync(): Promise<FileText[] | ConfigError> {
    if (this.sync) return this.readSync();
    let names: string[];
    try {
      names =
        this.directories && (await stat(this.path)).isDirectory()
          ? yamlFiles(this.path, await readdir(this.path))
          : [this.path];
    } catch (err) {
      return cannotRead(this.path, this.label, err);
    }
    const out: FileText[] = [];
    for (const name of names) {
      try {
        out.push({ name, text: await readFile(name, 'utf8') });
      } catch (err) {
        return cannotRead(name, this.label, err);
      }
    }
    return out;
  }

  /**
   * Names, inodes, sizes and modification times: notices an edit without reading contents. The inode catches
   * a file renamed into place within one mtime tick; the checksum still decides what is new.
   */
  private fingerprint(): string {
    try {
      return listFiles(this.path, this.directories)
        .map((f) => {
          const s = statSync(f);
          return `${f}:${s.ino}:${s.size}:${s.mtimeMs}`;
        })
        .join('|');
    } catch {
      return 'unreadable';
    }
  }
}
