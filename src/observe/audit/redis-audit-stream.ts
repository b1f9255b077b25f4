// The audit log shared by every replica through one Redis stream: each replica XADDs its entries (trimmed with
// MAXLEN ~) and follows the stream, so GET /api/audit reads the same log on any replica. Entries wait in a
// bounded queue while Redis is down; nothing here is on the request path and nothing here ever throws to a caller.

import { RedisConnections } from '../../lib/redis/redis-connections.js';
import type { RedisClient } from '../../lib/redis/redis-connections.js';
import type { RedisSettings } from '../../lib/redis/redis-settings.js';
import { LuaScript } from '../../lib/redis/script-runner.js';
import type { AuditEntry } from './audit-log.js';

/** Under the limits config's hash tag, so a Cluster keeps the stream and its counters on one slot. */
export function auditKeys(prefix: string) {
  return {
    stream: `${prefix}{limits}:audit`,
    /** The shared entry id: one sequence for every replica, so ids stay unique in the merged log. */
    seq: `${prefix}{limits}:audit:seq`,
    /** The newest limits version already in the stream: each replica applies every version, one records it. */
    configVersion: `${prefix}{limits}:audit:config_version`,
  };
}

/**
 * KEYS: stream, seq, config version. ARGV: MAXLEN, entry JSON (without id), limits version or '', the highest
 * id this replica has seen (a Redis restarted empty then goes on numbering above it, not from 1 again).
 * Returns the shared id, or 0 when another replica already recorded that limits version.
 * A replica applies versions in order and writes its entries in order, so a newer version in the stream
 * means the older one was written before it: `<=` drops only duplicates.
 */
const APPEND_SCRIPT = `
if ARGV[3] ~= '' then
  local last = tonumber(redis.call('GET', KEYS[3]) or '0')
  if tonumber(ARGV[3]) <= last then return 0 end
  redis.call('SET', KEYS[3], ARGV[3])
end
if tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[4]) then redis.call('SET', KEYS[2], ARGV[4]) end
local id = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'id', tostring(id), 'entry', ARGV[2])
return id
`;

/** Approximate length the stream is trimmed to (XADD MAXLEN ~): far more than GET /api/audit shows. */
export const AUDIT_STREAM_MAXLEN = 100_000;
/** Entries kept while Redis cannot be reached; past it the oldest are dropped (they stay in audit.jsonl). */
const PENDING_LIMIT = 10_000;
const READ_BATCH = 500;

interface Pending {
  entry: AuditEntry;
  /** The limits version this entry records, when it is a configuration change. */
  configVersion: number | undefined;
  /** Set once Redis has it; the entry is shown from here until the follower has read past it. */
  sharedId?: number;
}

type StreamReply = [id: string, fields: string[]][];

export interface RedisAuditStreamOptions {
  /** Entries kept for GET /api/audit (newest ones). */
  capacity: number;
  /** How often the stream is read for entries of other replicas. */
  pollMs: number;
  onError: (err: Error) => void;
}

export class RedisAuditStream {
  readonly keys: ReturnType<typeof auditKeys>;
  private readonly connections: RedisConnections;
  private readonly append$ = new LuaScript('audit-append', APPEND_SCRIPT);
  /** The stream as read so far, oldest first, at most `capacity`. */
  private readonly mirror: AuditEntry[] = [];
  private readonly pending: Pending[] = [];
  private lastStreamId = '0-0';
  private maxSharedId = 0;
  /** False until the stream has been read once: until then the replica's own log is shown. */
  private synced = false;
  private timer: NodeJS.Timeout | undefined;
  private sending = false;
  private reading: Promise<void> | undefined;
  private stopped = false;
  /** Entries dropped from a full queue while Redis was unreachable. */
  dropped = 0;

  constructor(
    settings: RedisSettings,
    private readonly options: RedisAuditStreamOptions,
  ) {
    this.keys = auditKeys(settings.keyPrefix);
    // Its own connection: an audit write must never queue behind bucket checks or config writes.
    this.connections = new RedisConnections(
      { ...settings, poolSize: 1, minIdleConns: 1, timeoutMs: Math.max(settings.timeoutMs, 2000) },
      options.onError,
    );
    this.connections.primary.on('ready', () => {
      void this.send();
      void this.read();
    });
  }

  get description(): string {
    return this.connections.description;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  private get client(): RedisClient {
    return this.connections.primary;
  }

  waitReady(timeoutMs: number): Promise<boolean> {
    return this.connections.waitReady(timeoutMs);
  }

  /** Reads the stream's newest entries, then follows it every `pollMs`. */
  async start(): Promise<void> {
    await this.read();
    this.timer = setInterval(() => void this.read(), this.options.pollMs);
    this.timer.unref();
  }

  /** Queues `entry` for the stream; returns at once. */
  add(entry: AuditEntry, configVersion: number | undefined): void {
    this.pending.push({ entry, configVersion });
    if (this.pending.length > PENDING_LIMIT) {
      // Only entries not yet in Redis can be dropped: a sent one leaves the queue once it is read back.
      const i = this.pending.findIndex((p) => p.sharedId === undefined);
      if (i !== -1) {
        this.pending.splice(i, 1);
        this.dropped++;
      }
    }
    void this.send();
  }

  /** Newest first: entries not yet read back from the stream, then the stream. */
  list(limit: number, tenant?: string): AuditEntry[] {
    const out: AuditEntry[] = [];
    for (let i = this.pending.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.pending[i]!.entry;
      if (tenant === undefined || e.tenant === tenant) out.push(e);
    }
    for (let i = this.mirror.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.mirror[i]!;
      if (tenant === undefined || e.tenant === tenant) out.push(e);
    }
    return out;
  }

  /** Writes the queue in order; one writer at a time so the stream holds each replica's entries in order. */
  private async send(): Promise<void> {
    if (this.sending || this.stopped) return;
    this.sending = true;
    try {
      for (;;) {
        const next = this.pending.find((p) => p.sharedId === undefined);
        if (next === undefined || this.client.status !== 'ready') return;
        const { id: local, ...rest } = next.entry;
        const reply = await this.append$.run(this.client, 3, [
          this.keys.stream,
          this.keys.seq,
          this.keys.configVersion,
          String(AUDIT_STREAM_MAXLEN),
          // The replica's own number stays with it: API answers (audit_id) and audit.jsonl use that one.
          JSON.stringify({ ...rest, replica_id: local }),
          next.configVersion === undefined ? '' : String(next.configVersion),
          String(this.maxSharedId),
        ]);
        const shared = Number(reply);
        if (shared === 0) {
          // Another replica recorded this limits version: its entry is (or soon is) in the stream.
          this.pending.splice(this.pending.indexOf(next), 1);
          continue;
        }
        next.sharedId = shared;
        next.entry = { ...next.entry, id: shared };
        this.settle();
      }
    } catch (err) {
      // Retried on the next add, the next poll, or when the connection is ready again.
      this.options.onError(err as Error);
    } finally {
      this.sending = false;
    }
  }

  /** Reads what the stream has past the last entry seen; concurrent calls share one read. */
  private read(): Promise<void> {
    this.reading ??= this.readOnce().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    if (this.stopped || this.client.status !== 'ready') return;
    try {
      if (!this.synced) {
        // Start from the newest `capacity` entries, not from the stream's beginning.
        const newest = (await this.client.xrevrange(
          this.keys.stream,
          '+',
          '-',
          'COUNT',
          this.options.capacity,
        )) as StreamReply;
        this.take(newest.reverse());
        this.synced = true;
      }
      for (;;) {
        const reply = (await this.client.xread(
          'COUNT',
          READ_BATCH,
          'STREAMS',
          this.keys.stream,
          this.lastStreamId,
        )) as [string, StreamReply][] | null;
        const batch = reply?.[0]?.[1] ?? [];
        this.take(batch);
        if (batch.length < READ_BATCH) break;
      }
      this.settle();
      if (this.pending.some((p) => p.sharedId === undefined)) void this.send();
    } catch (err) {
      this.options.onError(err as Error);
    }
  }

  private take(batch: StreamReply): void {
    for (const [streamId, fields] of batch) {
      this.lastStreamId = streamId;
      const entry = decode(fields);
      if (entry === undefined) continue;
      this.maxSharedId = Math.max(this.maxSharedId, entry.id);
      this.mirror.push(entry);
      if (this.mirror.length > this.options.capacity) this.mirror.shift();
    }
  }

  /** Entries already read back from the stream are shown from the mirror, not twice. */
  private settle(): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const id = this.pending[i]!.sharedId;
      if (id !== undefined && id <= this.maxSharedId) this.pending.splice(i, 1);
    }
  }

  /** Resolves when every queued entry is in Redis, or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.some((p) => p.sharedId === undefined) && Date.now() < deadline) {
      if (this.client.status !== 'ready') return;
      await this.send();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop(): Promise<void> {
    await this.flush(1000);
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.reading;
    await this.connections.close();
  }
}

function decode(fields: string[]): AuditEntry | undefined {
  let id: number | undefined;
  let text: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'id') id = Number(fields[i + 1]);
    else if (fields[i] === 'entry') text = fields[i + 1];
  }
  if (id === undefined || !Number.isFinite(id) || text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    return { ...(parsed as Omit<AuditEntry, 'id'>), id };
  } catch {
    // Written by something else: skipped rather than shown half-read.
    return undefined;
  }
}
