// The Retry-After header on 429 and 5xx answers, computed as Mimir's distributor computes it
// (pkg/distributor/push.go, -distributor.retry-after-header.*): MIN_BACKOFF × 2^(attempt − 1), where the
// attempt is the client's Retry-Attempt header, capped at MAX_BACKOFF, with ±50 % jitter, then held within
// [MIN_BACKOFF, MAX_BACKOFF]. A sender that stays over its limit is told to wait longer and longer, so its
// retries (and its resharding) stay bounded; the jitter spreads the retries of many senders apart.

/** RETRY_AFTER_HEADER_*: Mimir's -distributor.retry-after-header.enabled, .min-backoff and .max-backoff. */
export interface RetryAfterConfig {
  enabled: boolean;
  /** Milliseconds, at least 1000. */
  minBackoffMs: number;
  /** Milliseconds, at least 1000; below minBackoffMs, every answer gets minBackoffMs (as in Mimir). */
  maxBackoffMs: number;
}

/** Mimir's defaults: 6 s, then 12, 24, 48, 96 s. */
export const MIMIR_RETRY_AFTER: RetryAfterConfig = Object.freeze({
  enabled: true,
  minBackoffMs: 6000,
  maxBackoffMs: 96_000,
});

/** Mimir's jitter: up to half the delay, either way. */
const JITTER_FACTOR = 0.5;

/**
 * Past this many attempts, MIN × 2^(attempt−1) is over any MAX a setting can hold, so larger attempts need no
 * arithmetic (and 2^exponent stays a finite double).
 */
const MAX_EXPONENT = 62;

/** Whether Mimir puts Retry-After on an answer with this status: 429 and every 5xx. */
export function isRetriable(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/**
 * The attempt a Retry-Attempt header names, as Mimir reads it: a decimal integer (an optional sign, as Go's
 * strconv.Atoi takes); anything else, or below 1 (a negative number too), is attempt 1. Never an error: a malformed header only
 * costs the client the shortest backoff. A number too long to hold (Mimir's Atoi fails on it and falls back to
 * 1) counts here as the largest attempt, so a client cannot get a shorter wait by sending more digits.
 */
export function retryAttempt(header: string | readonly string[] | undefined): number {
  if (header === undefined) return 1;
  // Node joins a repeated header into one value only for some names; a list is taken at its first value.
  const text = typeof header === 'string' ? header : header[0];
  if (text === undefined || !/^\+?\d+$/.test(text)) return 1;
  // Number() of a very long digit string is Infinity: the largest attempt, never an error.
  const n = Number(text);
  return n >= 1 ? Math.min(n, MAX_EXPONENT + 1) : 1;
}

/** The delay for `attempt` before jitter: MIN × 2^(attempt−1), at most MAX (seconds, possibly fractional). */
export function backoffSeconds(config: RetryAfterConfig, attempt: number): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt) - 1), MAX_EXPONENT);
  return Math.min(config.maxBackoffMs / 1000, (config.minBackoffMs / 1000) * 2 ** exponent);
}

/**
 * Whole seconds to put in Retry-After: the backoff for `attempt`, plus a jitter drawn uniformly from the
 * integers in [−⌊delay/2⌋, ⌊delay/2⌋], held within [MIN, MAX]. `random` is in [0, 1), as Math.random.
 */
export function retryAfterSeconds(
  config: RetryAfterConfig,
  attempt: number,
  random: () => number = Math.random,
): number {
  let delay = backoffSeconds(config, attempt);
  const jitter = Math.floor(delay * JITTER_FACTOR);
  if (jitter > 0) delay += Math.min(Math.floor(random() * (2 * jitter + 1)), 2 * jitter) - jitter;
  delay = Math.max(config.minBackoffMs / 1000, Math.min(config.maxBackoffMs / 1000, delay));
  return Math.floor(delay);
}

/**
 * The Retry-After value for an answer, or undefined when it gets none: only 429 and 5xx get one, and only
 * while the header is enabled (as in Mimir, disabling it leaves it out).
 */
export class RetryAfterHeader {
  constructor(
    readonly config: RetryAfterConfig = MIMIR_RETRY_AFTER,
    private readonly random: () => number = Math.random,
  ) {}

  /** `attemptHeader`: the request's Retry-Attempt header, as Node or Envoy present it. */
  value(status: number, attemptHeader: string | readonly string[] | undefined): string | undefined {
    if (!this.config.enabled || !isRetriable(status)) return undefined;
    return String(retryAfterSeconds(this.config, retryAttempt(attemptHeader), this.random));
  }
}
