// What the Redis benchmarks (bench:redis, bench:redis-algorithms) share: the store settings for a local
// redis-server, and the closed loop that keeps a fixed number of checks in flight over a key space.

import { performance } from 'node:perf_hooks';
import type { RedisSettings } from '../../src/lib/redis/redis-settings.js';

/** Settings for a standalone redis-server on 127.0.0.1:`port`, with a timeout no check of a bench reaches. */
export function benchRedisSettings(port: number): RedisSettings {
  return {
    addresses: [{ host: '127.0.0.1', port }],
    mode: 'standalone',
    sentinelMaster: 'mymaster',
    username: '',
    password: '',
    poolSize: 4,
    minIdleConns: 1,
    timeoutMs: 5000,
    keyPrefix: 'bench:',
    fallback: 'local',
    fallbackReplicas: 1,
    breakerFailures: 3,
    breakerCooldownMs: 1000,
    localCache: false,
  };
}

export interface ClosedLoopShape {
  seconds: number;
  /** Checks in flight at once. */
  concurrency: number;
  /** Keys `k0` … `k<keys-1>`, visited in turn by each worker. */
  keys: number;
}

export interface ClosedLoopRun {
  done: number;
  errors: number;
  elapsedSeconds: number;
  /** Latency in ms of every 16th check (sampled, so the recorder does not dominate memory). */
  latencies: number[];
}

/** Keeps `shape.concurrency` checks in flight for `shape.seconds`; each check is timed from call to answer. */
export async function closedLoop(
  shape: ClosedLoopShape,
  check: (key: string) => Promise<unknown> | unknown,
): Promise<ClosedLoopRun> {
  const latencies: number[] = [];
  let errors = 0;
  let done = 0;
  const deadline = performance.now() + shape.seconds * 1000;
  const worker = async (w: number): Promise<void> => {
    let i = w;
    while (performance.now() < deadline) {
      const key = `k${i % shape.keys}`;
      i += shape.concurrency;
      const t0 = performance.now();
      try {
        await check(key);
        if ((done & 15) === 0) latencies.push(performance.now() - t0);
        done++;
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: shape.concurrency }, (_, w) => worker(w)));
  return { done, errors, elapsedSeconds: (performance.now() - started) / 1000, latencies };
}
