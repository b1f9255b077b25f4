// Keeps the shared limits configuration in Redis: the versions (a sorted set scored by version), the base the
// oldest retained version applies to, and a readable copy of the whole config, all under one hash tag. A write is
// one Lua script guarded by the version it builds on, so two replicas can never both append the same number.

import type { ConfigHistory, ConfigVersion } from './config-history.js';
import { ConfigError } from '../lib/config-error.js';
import { fromDocument, mergePartial, toDocument } from './config-document.js';
import { EMPTY_CONFIG, LAYERS } from './limits-config.js';
import type { LimitsConfig, TenantChange } from './limits-config.js';
import type { SharedConfigStore, SharedRead } from './config-propagation.js';
import { RedisConnections } from '../lib/redis/redis-connections.js';
import type { RedisClient } from '../lib/redis/redis-connections.js';
import type { RedisSettings } from '../lib/redis/redis-settings.js';
import { LuaScript } from '../lib/redis/script-runner.js';
import { KeptSubscription } from '../lib/redis/kept-subscription.js';
import { isMapping } from '../lib/is-mapping.js';

/** The keys, under one hash tag so a Cluster keeps them on one slot (one script touches both). */
export function configKeys(prefix: string) {
  return {
    config: `${prefix}{limits}:config`,
    versions: `${prefix}{limits}:config:versions`,
    channel: `${prefix}{limits}:config:changed`,
  };
}

/**
 * KEYS: config hash, versions zset. ARGV: expected version, new latest, state JSON, base version, base JSON,
 * channel, then (version, version JSON) pairs. Returns -1 when written, else the version Redis holds.
 * A failed PUBLISH must not fail a change that is already written: the periodic re-read delivers it.
 */
const WRITE_SCRIPT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[1]) then return current end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
for i = 7, #ARGV, 2 do redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'state', ARGV[3], 'base_version', ARGV[4], 'base', ARGV[5])
redis.pcall('PUBLISH', ARGV[6], ARGV[2])
return -1
`;

/**
 * KEYS: config hash, versions zset. ARGV: the version the reader holds (-1: none). Returns the version, the base
 * version, the base JSON (only when the reader is older than the base), then the versions after the reader's.
 */
const READ_SCRIPT = `
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local baseVersion = tonumber(redis.call('HGET', KEYS[1], 'base_version') or '0')
local since = tonumber(ARGV[1])
local base = ''
if since < baseVersion then
  base = redis.call('HGET', KEYS[1], 'base') or ''
  since = baseVersion
end
local out = {tostring(version), tostring(baseVersion), base}
if since < version then
  for _, v in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. since, '+inf')) do out[#out + 1] = v end
end
return out
`;

const LAYER_NAMES = new Set<string>(LAYERS.map((l) => l.name));

/** A version as another replica wrote it; anything malformed is an error naming the store, never half-read. */
function parseVersion(text: string, source: string): ConfigVersion {
  const bad = (why: string): never => {
    throw new ConfigError(source, 'versions', why);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return bad('a version is not valid JSON');
  }
  if (!isMapping(value) || !Number.isInteger(value.version) || !Array.isArray(value.changes))
    return bad(`a version has no number or no changes: ${text.slice(0, 200)}`);
  const changes: TenantChange[] = [];
  for (const c of value.changes as unknown[]) {
    if (!isMapping(c) || !LAYER_NAMES.has(c.layer as string) || typeof c.tenant !== 'string')
      return bad(`version ${String(value.version)} has a malformed change`);
    const before = c.before ?? null;
    const after = c.after ?? null;
    if ((before !== null && !isMapping(before)) || (after !== null && !isMapping(after)))
      return bad(`version ${String(value.version)} has a malformed change for ${c.tenant}`);
    changes.push({ layer: c.layer, tenant: c.tenant, before, after } as TenantChange);
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return Object.freeze({
    version: value.version as number,
    timeMs: typeof value.timeMs === 'number' ? value.timeMs : 0,
    actor: str(value.actor) ?? 'unknown',
    role: str(value.role),
    source: (str(value.source) ?? 'state') as ConfigVersion['source'],
    reason: str(value.reason),
    action: str(value.action) ?? 'config.change',
    tenant: str(value.tenant),
    changes: Object.freeze(changes),
  });
}

export class RedisConfigStore implements SharedConfigStore {
  private readonly keys: ReturnType<typeof configKeys>;
  private readonly write$ = new LuaScript('config-write', WRITE_SCRIPT);
  private readonly read$ = new LuaScript('config-read', READ_SCRIPT);
  /** Commands; apart from the rate store's pool so a config write never queues behind checks. */
  private readonly commands: RedisConnections;
  /** A connection in subscriber mode can run nothing else, so it is its own. */
  private readonly subscriber: RedisConnections;
  readonly description: string;
  private subscription: KeptSubscription | undefined;

  constructor(settings: RedisSettings, onError: (err: Error) => void) {
    this.keys = configKeys(settings.keyPrefix);
    // Config writes carry the whole history now and then: allow more than a bucket check's REDIS_TIMEOUT.
    const own: RedisSettings = {
      ...settings,
      poolSize: 1,
      minIdleConns: 1,
      timeoutMs: Math.max(settings.timeoutMs, 2000),
    };
    this.commands = new RedisConnections(own, onError);
    this.subscriber = new RedisConnections(own, onError);
    this.description = this.commands.description;
  }

  private get client(): RedisClient {
    return this.commands.primary;
  }

  waitReady(timeoutMs: number): Promise<boolean> {
    return this.commands.waitReady(timeoutMs);
  }

  async read(since: number): Promise<SharedRead> {
    const reply = await this.read$.run(this.client, 2, [this.keys.config, this.keys.versions, String(since)]);
    if (!Array.isArray(reply) || reply.length < 3)
      throw new Error('unexpected reply from the config read script');
    const [version, baseVersion, baseText, ...rest] = reply as string[];
    const source = `redis ${this.keys.config}`;
    const out: SharedRead = {
      version: Number(version),
      versions: rest.map((text) => parseVersion(text, source)),
    };
    if (baseText) {
      let root: unknown;
      try {
        root = JSON.parse(baseText);
      } catch {
        throw new ConfigError(source, 'base', 'not valid JSON');
      }
      if (!isMapping(root)) throw new ConfigError(source, 'base', 'not a mapping');
      out.base = {
        version: Number(baseVersion),
        config: mergePartial(EMPTY_CONFIG, fromDocument(root, `${source} base`)),
      };
    }
    return out;
  }

  async write(expected: number, history: ConfigHistory, config: LimitsConfig): Promise<number | undefined> {
    const { version: baseVersion, config: base } = history.base;
    const args = [
      String(expected),
      String(history.latest),
      JSON.stringify(toDocument(config, history.latest)),
      String(baseVersion),
      JSON.stringify(toDocument(base)),
      this.keys.channel,
    ];
    for (const v of history.all()) if (v.version > expected) args.push(String(v.version), JSON.stringify(v));
    const reply = await this.write$.run(this.client, 2, [this.keys.config, this.keys.versions, ...args]);
    return reply === -1 ? undefined : Number(reply);
  }

  subscribe(onVersion: (version: number) => void, onReady: () => void): void {
    this.subscription = new KeptSubscription(
      this.subscriber.primary,
      this.keys.channel,
      (message) => {
        const version = Number(message);
        if (Number.isInteger(version)) onVersion(version);
      },
      onReady,
    );
  }

  /** Subscribes again if a refused SUBSCRIBE (ACL, a failover in progress) left the connection without one. */
  keepSubscribed(): void {
    this.subscription?.keep();
  }

  get listening(): boolean {
    return this.subscription?.listening ?? false;
  }

  async close(): Promise<void> {
    await Promise.all([this.commands.close(), this.subscriber.close()]);
  }
}
