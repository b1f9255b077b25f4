// Counts the live replicas sharing the limits: each one beats into a sorted set in Redis every second
// and reads how many others beat recently. The count splits a limit among replicas while Redis is down,
// so it keeps the last value seen; it never blocks a decision.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { HEARTBEAT_SCRIPT, replicasKey } from './bucket-scripts.js';
import type { RedisConnections } from '../../lib/redis/redis-connections.js';
import { LuaScript } from '../../lib/redis/script-runner.js';

export const HEARTBEAT_INTERVAL_MS = 1000;
/** A replica that has not beaten for this long is no longer counted. */
export const HEARTBEAT_TTL_MS = 5000;

export class ReplicaHeartbeat {
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly script = new LuaScript('heartbeat', HEARTBEAT_SCRIPT);
  private timer: NodeJS.Timeout | undefined;
  private live = 1;

  constructor(
    private readonly connections: RedisConnections,
    private readonly keyPrefix: string,
  ) {}

  /** Live replicas at the last beat that reached Redis (this one included; 1 before any). */
  get liveReplicas(): number {
    return this.live;
  }

  start(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  async beat(): Promise<void> {
    try {
      const count = await this.script.run(this.connections.primary, 1, [
        replicasKey(this.keyPrefix),
        this.id,
        String(HEARTBEAT_TTL_MS),
      ]);
      if (typeof count === 'number' && count >= 1) this.live = count;
    } catch {
      // Redis is down: keep the last count; the breaker reports the outage.
    }
  }

  /** Stops beating and removes this replica at once, so the others' share grows without waiting. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      await this.connections.primary.zrem(replicasKey(this.keyPrefix), this.id);
    } catch {
      // Redis is down: the entry expires by itself.
    }
  }
}
