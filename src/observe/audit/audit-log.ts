// The append-only record of every configuration change (from any source) and every state-changing admin
// action: who, when, what, before and after. Kept in memory (bounded, for GET /api/audit) and, with
// STATE_DIR, appended as JSON lines to a file that survives restarts; with Redis, also shared with every replica
// through a stream (redis-audit-stream.ts), which GET /api/audit then reads. Writing never blocks a decision.
// The file is created 0600 (its directory 0700 when the edge creates it): it names every actor and reason.

import { readFile, rename, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { appendPrivate, makePrivateDir } from '../../limits/atomic-file.js';
import type { Role } from './roles.js';
import type { RedisAuditStream } from './redis-audit-stream.js';

export interface AuditEntry {
  id: number;
  time: string;
  actor: string;
  /** The actor's role; `system` for changes no person made (a file reload, a ConfigMap event). */
  role: Role | 'system';
  action: string;
  /** The tenant changed, when the action is about one. */
  tenant: string | null;
  before: unknown;
  after: unknown;
  /** Free text the actor gave (why), if any. */
  reason: string | null;
  /** Limits version after the change. */
  version: number | null;
  /** Where the change came from (overrides_file, configmap, api, rollback, import, state); null for other actions. */
  source?: string | null;
  /** The exact change: one entry per tenant and layer, before and after. */
  diff?: unknown;
  /** Policy-set and descriptor-config reloads: that source's own version in force after the reload. */
  source_version?: number;
  /** Policy-set and descriptor-config reloads: the file read, the sha256 of its content, and the outcome. */
  file?: string;
  checksum?: string;
  result?: 'applied' | 'error';
  /** The replica (host name) that wrote the entry; set when the log is shared through Redis. */
  replica?: string;
  /** In the shared log: the entry's id on the replica that wrote it (its audit.jsonl, its API answers). */
  replica_id?: number;
}

export interface AppendOptions {
  /** The limits version the entry records: every replica applies it, only one copy goes to the shared stream. */
  configVersion?: number;
}

/** Past this size the file is renamed to `<file>.1` (replacing the previous one) and a new one begun. */
const ROTATE_BYTES = 64 * 1024 * 1024;

export class AuditLog {
  private readonly entries: AuditEntry[] = [];
  private nextId = 1;
  private writing: Promise<void> = Promise.resolve();
  private bytes = 0;
  /** The last write error, shown in logs by whoever flushes; the in-memory log keeps working. */
  lastWriteError: Error | undefined;
  private stream: RedisAuditStream | undefined;
  private readonly replica = hostname();

  constructor(
    private readonly capacity: number,
    private readonly file?: string,
  ) {}

  /** An audit log persisted in `file`, with its last `capacity` entries read back. A torn last line is skipped. */
  static async open(capacity: number, file: string): Promise<AuditLog> {
    const log = new AuditLog(capacity, file);
    await makePrivateDir(dirname(file));
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    log.bytes = Buffer.byteLength(text);
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const entry = JSON.parse(line) as AuditEntry;
        if (typeof entry.id !== 'number') continue;
        log.entries.push(entry);
        if (log.entries.length > capacity) log.entries.shift();
        log.nextId = Math.max(log.nextId, entry.id + 1);
      } catch {
        // A line cut short by a crash: everything before it is intact.
      }
    }
    return log;
  }

  /** From now on entries also go to `stream`, and list() reads the shared log once the stream has been read. */
  share(stream: RedisAuditStream): void {
    this.stream = stream;
  }

  append(entry: Omit<AuditEntry, 'id'>, options: AppendOptions = {}): AuditEntry {
    const full: AuditEntry = {
      id: this.nextId++,
      ...entry,
      ...(this.stream ? { replica: this.replica } : {}),
    };
    // The shared copy gets its id from Redis; this replica's file and memory keep the local numbering.
    this.stream?.add(full, options.configVersion);
    this.entries.push(full);
    if (this.entries.length > this.capacity) this.entries.shift();
    if (this.file) {
      const file = this.file;
      const line = `${JSON.stringify(full)}\n`;
      this.writing = this.writing.then(async () => {
        try {
          if (this.bytes > ROTATE_BYTES) {
            await rename(file, `${file}.1`);
            this.bytes = 0;
          }
          await appendPrivate(file, line);
          this.bytes += Buffer.byteLength(line);
          this.lastWriteError = undefined;
        } catch (err) {
          this.lastWriteError = err as Error;
          this.bytes = await stat(file).then(
            (s) => s.size,
            () => 0,
          );
        }
      });
    }
    return full;
  }

  /** Resolves when every entry appended so far is on disk (or failed: see lastWriteError). */
  flush(): Promise<void> {
    return this.writing;
  }

  /** Writes what is queued (file, then stream) and closes the Redis stream's connection. */
  async close(): Promise<void> {
    await this.writing;
    await this.stream?.stop();
  }

  /** Newest first. Shared through Redis: every replica's entries; until the stream is first read, this replica's. */
  list(limit: number, tenant?: string): AuditEntry[] {
    if (this.stream?.isSynced) return this.stream.list(limit, tenant);
    const out: AuditEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.entries[i]!;
      if (tenant === undefined || e.tenant === tenant) out.push(e);
    }
    return out;
  }
}
