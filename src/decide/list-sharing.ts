// Starts sharing the runtime list changes through Redis when the policy counters are there (REDIS_ADDRESS
// set, STORE auto or redis): its own two connections (commands, and one in subscriber mode), metrics and
// log lines for every sync, and STATE_DIR kept up to date with what other replicas changed.

import type { ListStore } from '../lib/lists/list-store.js';
import { RedisConnections } from '../lib/redis/redis-connections.js';
import { RedisListStore } from '../lib/redis/redis-lists.js';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';
import type { Settings } from '../settings/settings.js';
import type { ListStateFile } from './list-state.js';
import { ListSync } from './list-sync.js';

/** The store rule of the policy counters: Redis when it is addressed and STORE allows it. */
export function policyStateInRedis(settings: Settings): boolean {
  return settings.redis.addresses.length > 0 && (settings.store === 'auto' || settings.store === 'redis');
}

/** The longest a replica goes without checking the shared versions (shorter when CONFIG_SYNC_INTERVAL is). */
const MAX_CHECK_INTERVAL_MS = 1000;
/** How long the start waits for Redis before going on with what this replica holds. */
const READY_WAIT_MS = 3000;

export interface SharedLists {
  sync: ListSync;
  description: string;
  stop(): Promise<void>;
}

export async function startListSharing(deps: {
  settings: Settings;
  log: Logger;
  metrics: EdgeMetrics;
  store: ListStore;
  listState: ListStateFile | undefined;
}): Promise<SharedLists | undefined> {
  const { settings, log, metrics, store, listState } = deps;
  if (!policyStateInRedis(settings)) return undefined;
  let lastError = '';
  const onError = (err: Error): void => {
    // Once per kind of error: the rate store's connections already log Redis being down.
    if (err.message === lastError) return;
    lastError = err.message;
    log.warn({ redis: commands.description }, `lists: Redis connection error: ${err.message}`);
  };
  const own = {
    ...settings.redis,
    poolSize: 1,
    minIdleConns: 1,
    timeoutMs: Math.max(settings.redis.timeoutMs, 2000),
  };
  const commands = new RedisConnections(own, onError);
  const subscriber = new RedisConnections(own, onError);
  const redis = new RedisListStore(commands, subscriber, settings.redis.keyPrefix);
  let failing = false;
  // A missed notification costs at most a second: the check is one HGETALL of the versions hash.
  const intervalMs = Math.min(settings.configSyncIntervalMs, MAX_CHECK_INTERVAL_MS);
  const sync = new ListSync(store, redis, {
    intervalMs,
    onSync(trigger, result, detail) {
      metrics.listSyncs.labels(trigger, result).inc();
      if (result === 'error') {
        if (!failing)
          log.warn(
            { redis: redis.description, trigger },
            `runtime list changes not synced with Redis, checked again every ${intervalMs} ms: ${detail}`,
          );
        failing = true;
        return;
      }
      if (failing)
        log.info({ redis: redis.description }, `runtime list changes synced with Redis again: ${detail}`);
      else if (result === 'applied')
        log.info(
          { redis: redis.description, trigger },
          `list changes from another replica applied: ${detail}`,
        );
      failing = false;
    },
    onApplied: () => {
      listState
        ?.save()
        .catch((err: unknown) =>
          log.error(
            { err: (err as Error).message },
            'list changes from another replica not saved to STATE_DIR',
          ),
        );
    },
  });
  if (!(await commands.waitReady(READY_WAIT_MS)))
    log.warn(
      { redis: redis.description },
      `Redis not reachable after ${READY_WAIT_MS} ms: starting with the runtime list changes held here; they are synced once Redis answers`,
    );
  await sync.start();
  log.info(
    { redis: redis.description },
    `runtime list changes are shared through Redis (${redis.description})`,
  );
  return {
    sync,
    description: redis.description,
    async stop() {
      await sync.stop();
      await Promise.all([commands.close(), subscriber.close()]);
    },
  };
}
