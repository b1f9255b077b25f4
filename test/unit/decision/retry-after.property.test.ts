// Retry-After as Mimir's distributor computes it (pkg/distributor/push.go calculateRetryAfter): the bounds always
// hold, the jitter stays within half the delay, the delay doubles with Retry-Attempt, and no header value is an
// error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MIMIR_RETRY_AFTER,
  RetryAfterHeader,
  backoffSeconds,
  isRetriable,
  retryAfterSeconds,
  retryAttempt,
} from '../../../src/decision/retry-after.js';
import type { RetryAfterConfig } from '../../../src/decision/retry-after.js';
import { loadSettings } from '../../../src/settings/settings.js';

/** A random source that always lands on the middle integer: no jitter. */
const MIDDLE = (): number => 0.5;
const LOWEST = (): number => 0;
const HIGHEST = (): number => 0.999999999;

const configs = fc
  .record({ min: fc.integer({ min: 1, max: 600 }), max: fc.integer({ min: 1, max: 3600 }) })
  .map(({ min, max }): RetryAfterConfig => ({
    enabled: true,
    minBackoffMs: min * 1000,
    maxBackoffMs: max * 1000,
  }));

describe('Retry-After like Mimir', () => {
  it("uses Mimir's defaults: 6 s to 96 s, enabled", () => {
    const s = loadSettings({}, []);
    expect(s.retryAfter).toEqual({ enabled: true, minBackoffMs: 6000, maxBackoffMs: 96_000 });
    expect(MIMIR_RETRY_AFTER).toEqual(s.retryAfter);
  });

  it('doubles with each attempt from 6 s and stops at 96 s (no jitter)', () => {
    const seconds = [1, 2, 3, 4, 5, 6, 7, 100].map((a) => retryAfterSeconds(MIMIR_RETRY_AFTER, a, MIDDLE));
    expect(seconds).toEqual([6, 12, 24, 48, 96, 96, 96, 96]);
  });

  it('a first attempt gets 6 to 9 s: the jitter below 6 s is held at the minimum', () => {
    expect(retryAfterSeconds(MIMIR_RETRY_AFTER, 1, LOWEST)).toBe(6);
    expect(retryAfterSeconds(MIMIR_RETRY_AFTER, 1, HIGHEST)).toBe(9);
    // The fifth attempt: 96 ± 48, held at 96 above.
    expect(retryAfterSeconds(MIMIR_RETRY_AFTER, 5, LOWEST)).toBe(48);
    expect(retryAfterSeconds(MIMIR_RETRY_AFTER, 5, HIGHEST)).toBe(96);
  });

  it('always stays within [min, max] whatever the attempt and the random draw', () => {
    fc.assert(
      fc.property(
        configs,
        fc.integer({ min: -5, max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (c, attempt, r) => {
          const s = retryAfterSeconds(c, attempt, () => r);
          expect(Number.isInteger(s)).toBe(true);
          expect(s).toBeGreaterThanOrEqual(c.minBackoffMs / 1000);
          expect(s).toBeLessThanOrEqual(Math.max(c.minBackoffMs / 1000, c.maxBackoffMs / 1000));
        },
      ),
    );
  });

  it('the jitter is at most half the delay either way', () => {
    fc.assert(
      fc.property(
        configs,
        fc.integer({ min: 1, max: 70 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (c, attempt, r) => {
          const delay = backoffSeconds(c, attempt);
          const s = retryAfterSeconds(c, attempt, () => r);
          const half = Math.floor(delay / 2);
          // Before the clamp, delay − half ≤ s ≤ delay + half; the clamp only moves it towards [min, max].
          expect(s).toBeGreaterThanOrEqual(Math.min(Math.floor(delay) - half, c.minBackoffMs / 1000));
          expect(s).toBeLessThanOrEqual(Math.max(Math.floor(delay + half), c.minBackoffMs / 1000));
        },
      ),
    );
  });

  it('the jitter takes every integer in its range (uniform over draws)', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 25; i++) seen.add(retryAfterSeconds(MIMIR_RETRY_AFTER, 3, () => i / 25));
    // Attempt 3: 24 ± 12 → 12..36, every value reachable.
    expect(Math.min(...seen)).toBe(12);
    expect(Math.max(...seen)).toBe(36);
    expect(seen.size).toBe(25);
  });

  it('without jitter, each attempt doubles the previous until the maximum', () => {
    fc.assert(
      fc.property(configs, fc.integer({ min: 1, max: 70 }), (c, attempt) => {
        const now = retryAfterSeconds(c, attempt, MIDDLE);
        const next = retryAfterSeconds(c, attempt + 1, MIDDLE);
        const top = Math.max(c.minBackoffMs / 1000, c.maxBackoffMs / 1000);
        expect(next).toBe(
          Math.min(top, Math.max(c.minBackoffMs / 1000, Math.min(c.maxBackoffMs / 1000, now * 2))),
        );
      }),
    );
  });
});

describe('Retry-Attempt header', () => {
  it('reads a positive decimal integer, as strconv.Atoi does', () => {
    expect(retryAttempt('3')).toBe(3);
    expect(retryAttempt('+4')).toBe(4);
    expect(retryAttempt('007')).toBe(7);
  });

  it('anything else is attempt 1: missing, empty, negative, zero, spaces, fractions, lists, text', () => {
    for (const bad of [undefined, '', '0', '-3', ' 2', '2 ', '1.5', '2, 3', 'abc', '0x10', '1e3', '∞'])
      expect(retryAttempt(bad), JSON.stringify(bad)).toBe(1);
    expect(retryAttempt(['5', '6'])).toBe(5);
  });

  it('a huge attempt is clamped to the maximum backoff, never an error and never Infinity', () => {
    const huge = '9'.repeat(5000);
    expect(retryAttempt(huge)).toBeGreaterThan(60);
    expect(retryAfterSeconds(MIMIR_RETRY_AFTER, retryAttempt(huge), MIDDLE)).toBe(96);
    expect(retryAfterSeconds(MIMIR_RETRY_AFTER, Number.MAX_SAFE_INTEGER, MIDDLE)).toBe(96);
  });

  it('any string at all gives a value within the bounds', () => {
    const header = new RetryAfterHeader(MIMIR_RETRY_AFTER);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const v = Number(header.value(429, text));
        expect(v).toBeGreaterThanOrEqual(6);
        expect(v).toBeLessThanOrEqual(96);
      }),
    );
  });
});

describe('which answers carry it', () => {
  it('429 and every 5xx, as Mimir; never a 2xx or another 4xx', () => {
    expect([429, 500, 502, 503, 504, 599].every(isRetriable)).toBe(true);
    expect([200, 202, 400, 401, 403, 413, 415, 428, 430, 600].some(isRetriable)).toBe(false);
    const header = new RetryAfterHeader(MIMIR_RETRY_AFTER);
    expect(header.value(400, '1')).toBeUndefined();
    expect(header.value(503, undefined)).toMatch(/^\d+$/);
  });

  it('none at all when RETRY_AFTER_HEADER_ENABLED=false', () => {
    const off = new RetryAfterHeader({ ...MIMIR_RETRY_AFTER, enabled: false });
    expect(off.value(429, '1')).toBeUndefined();
    expect(off.value(500, '1')).toBeUndefined();
  });
});

describe('settings, as Mimir validates them', () => {
  // Ported from Mimir pkg/distributor/push_test.go TestRetryConfig_Validate.
  it('"should pass with min and max backoff equal to 1s"', () => {
    const s = loadSettings(
      { RETRY_AFTER_HEADER_MIN_BACKOFF: '1s', RETRY_AFTER_HEADER_MAX_BACKOFF: '1s' },
      [],
    );
    expect(s.retryAfter).toMatchObject({ minBackoffMs: 1000, maxBackoffMs: 1000 });
  });

  it('"should fail if min backoff is 0" / "should fail if max backoff is 0"', () => {
    expect(() => loadSettings({ RETRY_AFTER_HEADER_MIN_BACKOFF: '0s' }, [])).toThrow(
      /RETRY_AFTER_HEADER_MIN_BACKOFF/,
    );
    expect(() => loadSettings({ RETRY_AFTER_HEADER_MAX_BACKOFF: '0s' }, [])).toThrow(
      /RETRY_AFTER_HEADER_MAX_BACKOFF/,
    );
  });

  it('under 1s is refused, as Mimir refuses it', () => {
    expect(() => loadSettings({ RETRY_AFTER_HEADER_MIN_BACKOFF: '500ms' }, [])).toThrow(/at least 1s/);
  });
});
