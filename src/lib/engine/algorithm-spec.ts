// Algorithms described as plain data (what a policy file holds) and turned into RateAlgorithm objects.
// Every parameter is checked here, so a bad one fails at load time with its name, never during a check.

import type { RateAlgorithm } from './algorithm.js';
import { CalendarQuotaAlgorithm } from './algorithms/calendar-quota.js';
import { ConcurrencyLimitAlgorithm } from './algorithms/concurrency-limit.js';
import { FixedWindowAlgorithm } from './algorithms/fixed-window.js';
import { GcraAlgorithm } from './algorithms/gcra.js';
import { LeakyBucketAlgorithm } from './algorithms/leaky-bucket.js';
import { SlidingWindowCounterAlgorithm } from './algorithms/sliding-window-counter.js';
import { SlidingWindowLogAlgorithm } from './algorithms/sliding-window-log.js';
import { TokenBucketAlgorithm } from './algorithms/token-bucket-algorithm.js';
import type { CalendarUnit } from './calendar-period.js';
import { assertTimeZone } from './calendar-period.js';
import type { Duration } from './duration.js';
import { durationMs } from './duration.js';

export type AlgorithmSpec =
  /** `rate` units per second, up to `burst` at once; starts full (Mimir's ingestion_rate semantics). */
  | { algorithm: 'token_bucket'; rate: number; burst: number }
  /** `limit` units per `period`, up to `burst` (default `limit`) at once; one number of state per key. */
  | { algorithm: 'gcra'; limit: number; period: Duration; burst?: number }
  | { algorithm: 'fixed_window'; limit: number; window: Duration }
  | { algorithm: 'sliding_window_counter'; limit: number; window: Duration }
  | { algorithm: 'sliding_window_log'; limit: number; window: Duration }
  /** Drains `rate` units per second; holds at most `capacity` (the queue depth). */
  | { algorithm: 'leaky_bucket'; rate: number; capacity: number }
  | { algorithm: 'concurrency'; limit: number; lease?: Duration; retry_after?: Duration }
  | { algorithm: 'calendar_quota'; limit: number; period: CalendarUnit; time_zone?: string };

/** A parameter that is missing or out of range; `path` names it (e.g. "window"). */
export class AlgorithmSpecError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'AlgorithmSpecError';
  }
}

function positive(value: number, path: string, whole = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new AlgorithmSpecError(path, `must be a number above 0, got ${JSON.stringify(value)}`);
  }
  if (whole && !Number.isInteger(value)) {
    throw new AlgorithmSpecError(path, `must be a whole number, got ${value}`);
  }
  return value;
}

function nonNegative(value: number, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new AlgorithmSpecError(path, `must be a number of 0 or more, got ${JSON.stringify(value)}`);
  }
  return value;
}

function duration(value: Duration | undefined, path: string): number {
  const ms = value === undefined ? undefined : durationMs(value);
  if (ms === undefined) {
    throw new AlgorithmSpecError(
      path,
      `must be a duration such as "1s", "1m", "1h" or ms, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

/** Builds the algorithm a spec describes; throws AlgorithmSpecError naming the bad parameter. */
export function createAlgorithm(spec: AlgorithmSpec): RateAlgorithm {
  switch (spec.algorithm) {
    case 'token_bucket':
      return new TokenBucketAlgorithm({
        rate: nonNegative(spec.rate, 'rate'),
        burst: positive(spec.burst, 'burst'),
      });
    case 'gcra':
      return new GcraAlgorithm({
        limit: positive(spec.limit, 'limit'),
        periodMs: duration(spec.period, 'period'),
        burst: spec.burst === undefined ? undefined : positive(spec.burst, 'burst'),
      });
    case 'fixed_window':
      return new FixedWindowAlgorithm({
        limit: positive(spec.limit, 'limit'),
        windowMs: duration(spec.window, 'window'),
      });
    case 'sliding_window_counter':
      return new SlidingWindowCounterAlgorithm({
        limit: positive(spec.limit, 'limit'),
        windowMs: duration(spec.window, 'window'),
      });
    case 'sliding_window_log':
      return new SlidingWindowLogAlgorithm({
        limit: positive(spec.limit, 'limit', true),
        windowMs: duration(spec.window, 'window'),
      });
    case 'leaky_bucket':
      return new LeakyBucketAlgorithm({
        drainPerSecond: nonNegative(spec.rate, 'rate'),
        capacity: positive(spec.capacity, 'capacity'),
      });
    case 'concurrency':
      return new ConcurrencyLimitAlgorithm({
        limit: positive(spec.limit, 'limit'),
        leaseMs: spec.lease === undefined ? undefined : duration(spec.lease, 'lease'),
        retryAfterMs: spec.retry_after === undefined ? undefined : duration(spec.retry_after, 'retry_after'),
      });
    case 'calendar_quota': {
      if (!['hour', 'day', 'month'].includes(spec.period)) {
        throw new AlgorithmSpecError(
          'period',
          `must be "hour", "day" or "month", got ${JSON.stringify(spec.period)}`,
        );
      }
      const timeZone = spec.time_zone ?? 'UTC';
      try {
        assertTimeZone(timeZone);
      } catch {
        throw new AlgorithmSpecError('time_zone', `unknown IANA time zone ${JSON.stringify(timeZone)}`);
      }
      return new CalendarQuotaAlgorithm({
        limit: positive(spec.limit, 'limit'),
        period: spec.period,
        timeZone,
      });
    }
    default: {
      const name = (spec as { algorithm?: unknown }).algorithm;
      throw new AlgorithmSpecError(
        'algorithm',
        `unknown algorithm ${JSON.stringify(name)}; use one of token_bucket, gcra, fixed_window, sliding_window_counter, sliding_window_log, leaky_bucket, concurrency, calendar_quota`,
      );
    }
  }
}
