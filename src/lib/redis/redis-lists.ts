// Runtime changes of the named lists, kept in Redis so every replica holds the same: per list (a name and a
// kind: a list redefined with another kind starts afresh) a version and its two runtime sets, the entries
// added beyond its file and policy set and the entries removed from them. All keys share the hash tag
// {lists}, so a Cluster keeps them in one slot and one script reads or writes a list atomically. A write is
// guarded by the version the writer built on, so two replicas never both take the same number.

import type { OverlayDiff } from '../lists/list-store.js';
import type { RedisClient, RedisConnections } from './redis-connections.js';
import { KeptSubscription } from './kept-subscription.js';
import { LuaScript } from './script-runner.js';

/** The hash of versions, a list's sets, and the channel announcing a new version. */
export function listKeys(prefix: string) {
  return {
    versions: `${prefix}{lists}:versions`,
    channel: `${prefix}{lists}:changed`,
    added: (field: string) => `${prefix}{lists}:${field}:added`,
    removed: (field: string) => `${prefix}{lists}:${field}:removed`,
  };
}

/** A list's field in the versions hash: its kind and name ("ip:bad-nets"). */
export function listField(kind: string, name: string): string {
  return `${kind}:${name}`;
}

/**
 * KEYS: versions hash, added set, removed set. ARGV: field, expected version, lowest new version, replace
 * (1: empty both sets first), channel, then counts of the four parts and their entries: added put, added
 * drop, removed put, removed drop. Returns {1, version} when written (an empty edit writes nothing and
 * returns the version as it is), {0, version held} when the list moved on since `expected`.
 * A failed PUBLISH must not fail a change already written: the periodic check delivers it.
 */
const WRITE = `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if current ~= tonumber(ARGV[2]) then return {0, current} end
local counts = {tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])}
if counts[1] + counts[2] + counts[3] + counts[4] == 0 and ARGV[4] ~= '1' then return {1, current} end
if ARGV[4] == '1' then redis.call('DEL', KEYS[2], KEYS[3]) end
local at = 10
local function each(n, command, key)
  local i = 0
  while i < n do
    local last = math.min(i + 500, n)
    redis.call(command, key, unpack(ARGV, at + i, at + last - 1))
    i = last
  end
  at = at + n
end
each(counts[1], 'SADD', KEYS[2])
each(counts[2], 'SREM', KEYS[2])
each(counts[3], 'SADD', KEYS[3])
each(counts[4], 'SREM', KEYS[3])
local version = math.max(current + 1, tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], ARGV[1], version)
redis.pcall('PUBLISH', ARGV[5], ARGV[1] .. ' ' .. version)
return {1, version}
`;

/** KEYS: versions hash, added set, removed set. ARGV: field. Returns {version, added, removed}, read at once. */
const READ = `
return {tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0'), redis.call('SMEMBERS', KEYS[2]), redis.call('SMEMBERS', KEYS[3])}
`;

const writeScript = new LuaScript('lists:write', WRITE);
const readScript = new LuaScript('lists:read', READ);

export interface SharedListState {
  version: number;
  added: string[];
  removed: string[];
}

export class RedisListStore {
  private readonly keys: ReturnType<typeof listKeys>;
  private subscription: KeptSubscription | undefined;

  /**
   * `commands` runs the scripts; `subscriber` is a connection of its own (one in subscriber mode can run
   * nothing else). Both belong to the caller, who closes them.
   */
  constructor(
    private readonly commands: RedisConnections,
    private readonly subscriber: RedisConnections,
    keyPrefix: string,
  ) {
    this.keys = listKeys(keyPrefix);
  }

  private get client(): RedisClient {
    return this.commands.primary;
  }

  get description(): string {
    return this.commands.description;
  }

  /** Every list's shared version, by field. */
  async versions(): Promise<Map<string, number>> {
    const all = await this.client.hgetall(this.keys.versions);
    const out = new Map<string, number>();
    for (const [field, v] of Object.entries(all)) {
      const n = Number(v);
      if (Number.isSafeInteger(n)) out.set(field, n);
    }
    return out;
  }

  async read(field: string): Promise<SharedListState> {
    const reply = await readScript.run(this.client, 3, [
      this.keys.versions,
      this.keys.added(field),
      this.keys.removed(field),
      field,
    ]);
    if (!Array.isArray(reply) || reply.length !== 3 || !Array.isArray(reply[1]) || !Array.isArray(reply[2]))
      throw new Error('unexpected reply from the list read script');
    return { version: Number(reply[0]), added: reply[1] as string[], removed: reply[2] as string[] };
  }

  /**
   * Writes `diff` if the list is still at `expected`: resolves {written, version}. `replace` empties the sets
   * first (seeding a store that lost them); `atLeast` keeps the new version above one replicas already had.
   */
  async write(
    field: string,
    expected: number,
    diff: OverlayDiff,
    options: { replace?: boolean; atLeast?: number } = {},
  ): Promise<{ written: boolean; version: number }> {
    const reply = await writeScript.run(this.client, 3, [
      this.keys.versions,
      this.keys.added(field),
      this.keys.removed(field),
      field,
      String(expected),
      String(options.atLeast ?? 0),
      options.replace === true ? '1' : '0',
      this.keys.channel,
      String(diff.addedPut.length),
      String(diff.addedDrop.length),
      String(diff.removedPut.length),
      String(diff.removedDrop.length),
      ...diff.addedPut,
      ...diff.addedDrop,
      ...diff.removedPut,
      ...diff.removedDrop,
    ]);
    if (!Array.isArray(reply) || reply.length !== 2)
      throw new Error('unexpected reply from the list write script');
    return { written: Number(reply[0]) === 1, version: Number(reply[1]) };
  }

  /** `onVersion(field, version)` for each announced version; `onReady` after each (re)subscription. */
  subscribe(onVersion: (field: string, version: number) => void, onReady: () => void): void {
    this.subscription = new KeptSubscription(
      this.subscriber.primary,
      this.keys.channel,
      (message) => {
        const at = message.lastIndexOf(' ');
        const version = Number(message.slice(at + 1));
        if (at > 0 && Number.isSafeInteger(version)) onVersion(message.slice(0, at), version);
      },
      onReady,
    );
  }

  /** Subscribes again if a refused SUBSCRIBE left the connection without one. */
  keepSubscribed(): void {
    this.subscription?.keep();
  }

  get listening(): boolean {
    return this.subscription?.listening ?? false;
  }
}
