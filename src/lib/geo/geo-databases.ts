// The country and ASN databases an operator provides, kept current: each file is read and checked at open
// (a bad one throws, so a service refuses to start), then its name, inode, size and modification time are
// polled, and a changed file is read and checked off the hot path and swapped in with one assignment. A
// lookup runs wholly on the old database or wholly on the new one; no request waits for a reload or fails
// because of one. A file that cannot be read or checked keeps the last good database in force, and is
// reported once until it changes again.

import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { GeoDatabaseInfo, GeoDatabaseKind } from './geo-database.js';
import { GeoDatabase, GeoDatabaseError } from './geo-database.js';
import type { GeoResolver } from './geo-resolver.js';

export interface GeoIpOptions {
  /** A GeoIP2/GeoLite2 Country or City database (path, or the file's bytes: then never reloaded). */
  countryDatabase?: string | Buffer;
  /** A GeoIP2/GeoLite2 ASN database (path or bytes). */
  asnDatabase?: string | Buffer;
  /** How often the files are checked for a change, in ms (default 60,000); 0: never. */
  reloadIntervalMs?: number;
  /** After each reload that applied a new file or refused one (not at open); must not throw. */
  onReload?: (event: GeoReloadEvent) => void;
}

export interface GeoReloadEvent {
  kind: GeoDatabaseKind;
  /** The file, or "(buffer)". */
  path: string;
  result: 'applied' | 'error';
  /** The database in force after it, or why the file was refused. */
  detail: string;
  info: GeoDatabaseInfo;
}

export interface GeoDatabaseStatus {
  kind: GeoDatabaseKind;
  path: string;
  /** The database in force. */
  info: GeoDatabaseInfo;
  /** Files applied since open (the first one included), and files refused. */
  applied: number;
  errors: number;
  /** Set while the file on disk is refused; cleared when a good one is applied. */
  lastError: string | undefined;
  lookupErrors: number;
}

const DEFAULT_RELOAD_MS = 60_000;

function describe(info: GeoDatabaseInfo): string {
  return `${info.type} built ${new Date(info.buildEpoch * 1000).toISOString()}, ${info.nodeCount} nodes`;
}

/** One database file and the database read from it that is in force. */
class WatchedDatabase {
  current: GeoDatabase;
  readonly status: GeoDatabaseStatus;
  private seen: string;
  private reading = false;

  /** Throws GeoDatabaseError naming the file. */
  constructor(
    readonly kind: GeoDatabaseKind,
    source: string | Buffer,
    private readonly onReload: ((event: GeoReloadEvent) => void) | undefined,
  ) {
    const path = typeof source === 'string' ? source : '(buffer)';
    this.seen = typeof source === 'string' ? fingerprint(source) : '';
    let bytes: Buffer;
    try {
      bytes = typeof source === 'string' ? readFileSync(source) : source;
    } catch (err) {
      throw new GeoDatabaseError(`${path}: cannot read the ${kind} database: ${errorText(err)}`);
    }
    this.current = open(kind, path, bytes);
    this.status = {
      kind,
      path,
      info: this.current.info,
      applied: 1,
      errors: 0,
      lastError: undefined,
      lookupErrors: 0,
    };
  }

  /** Reads the file again if it changed on disk since the last read. Never throws. */
  async check(): Promise<'applied' | 'unchanged' | 'error'> {
    if (this.seen === '' || this.reading) return 'unchanged';
    const print = fingerprint(this.status.path);
    if (print === this.seen) return 'unchanged';
    this.reading = true;
    try {
      this.seen = print;
      const bytes = await readFile(this.status.path);
      // The file may have changed again while it was read: the next poll sees a new fingerprint.
      const next = open(this.kind, this.status.path, bytes);
      this.status.lookupErrors += this.current.lookupErrors;
      this.current = next;
      this.status.info = next.info;
      this.status.applied++;
      this.status.lastError = undefined;
      this.report('applied', describe(next.info));
      return 'applied';
    } catch (err) {
      const message =
        err instanceof GeoDatabaseError
          ? err.message
          : `${this.status.path}: cannot read the ${this.kind} database: ${errorText(err)}`;
      this.status.errors++;
      this.status.lastError = message;
      this.report('error', message);
      return 'error';
    } finally {
      this.reading = false;
    }
  }

  private report(result: 'applied' | 'error', detail: string): void {
    try {
      this.onReload?.({ kind: this.kind, path: this.status.path, result, detail, info: this.status.info });
    } catch {
      // A listener's bug must not stop the reloads.
    }
  }
}

function errorText(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

function open(kind: GeoDatabaseKind, path: string, bytes: Buffer): GeoDatabase {
  try {
    return new GeoDatabase(kind, bytes);
  } catch (err) {
    if (err instanceof GeoDatabaseError) throw new GeoDatabaseError(`${path}: ${err.message}`);
    throw err;
  }
}

/** Inode, size and modification time: a file renamed into place or rewritten shows as a change. */
function fingerprint(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch (err) {
    return `unreadable:${errorText(err)}`;
  }
}

/** Country and ASN lookups from MaxMind DB files, reloaded on change. */
export class GeoIpDatabases implements GeoResolver {
  private readonly countryDb: WatchedDatabase | undefined;
  private readonly asnDb: WatchedDatabase | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** Reads and checks both files now; throws GeoDatabaseError naming a file and what is wrong with it. */
  constructor(options: GeoIpOptions) {
    const { countryDatabase, asnDatabase, onReload } = options;
    if (countryDatabase === undefined && asnDatabase === undefined)
      throw new GeoDatabaseError('give a countryDatabase, an asnDatabase, or both');
    this.countryDb =
      countryDatabase === undefined ? undefined : new WatchedDatabase('country', countryDatabase, onReload);
    this.asnDb = asnDatabase === undefined ? undefined : new WatchedDatabase('asn', asnDatabase, onReload);
    const every = options.reloadIntervalMs ?? DEFAULT_RELOAD_MS;
    if (!Number.isFinite(every) || every < 0)
      throw new RangeError(`reloadIntervalMs must be 0 or more, got ${String(every)}`);
    if (every > 0) {
      this.timer = setInterval(() => void this.reload(), every);
      this.timer.unref();
    }
  }

  get hasCountries(): boolean {
    return this.countryDb !== undefined;
  }

  get hasAsns(): boolean {
    return this.asnDb !== undefined;
  }

  country(ip: string): string | undefined {
    return this.countryDb?.current.country(ip);
  }

  asn(ip: string): number | undefined {
    return this.asnDb?.current.asn(ip);
  }

  /** Checks both files now (what the poll does). */
  async reload(): Promise<void> {
    await Promise.all([this.countryDb?.check(), this.asnDb?.check()]);
  }

  status(): GeoDatabaseStatus[] {
    const out: GeoDatabaseStatus[] = [];
    for (const db of [this.countryDb, this.asnDb]) {
      if (db === undefined) continue;
      out.push({ ...db.status, lookupErrors: db.status.lookupErrors + db.current.lookupErrors });
    }
    return out;
  }

  /** Stops the poll. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
