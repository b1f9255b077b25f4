// Calendar quotas reset on local boundaries of the configured time zone (DST included), and durations
// and algorithm parameters are checked with errors that name the parameter.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calendarPeriod } from '../../../../src/lib/engine/calendar-period.js';
import { AlgorithmSpecError, RateLimiter, createAlgorithm, durationMs } from '../../../../src/index.js';
import type { AlgorithmSpec } from '../../../../src/index.js';

describe('calendar periods', () => {
  it('a New York day is 23 hours on the spring-forward Sunday and starts at local midnight', () => {
    const at = Date.parse('2025-03-09T15:00:00Z'); // 11:00 EDT
    const p = calendarPeriod(at, 'day', 'America/New_York');
    expect(new Date(p.startMs).toISOString()).toBe('2025-03-09T05:00:00.000Z');
    expect(new Date(p.endMs).toISOString()).toBe('2025-03-10T04:00:00.000Z');
  });

  it('a Kolkata hour starts on the local hour (offset +05:30)', () => {
    const p = calendarPeriod(Date.parse('2025-06-01T10:45:00Z'), 'hour', 'Asia/Kolkata');
    expect(new Date(p.startMs).toISOString()).toBe('2025-06-01T10:30:00.000Z');
    expect(p.endMs - p.startMs).toBe(3_600_000);
  });

  it('a Tokyo month runs from the 1st at local midnight', () => {
    const p = calendarPeriod(Date.parse('2024-02-29T12:00:00Z'), 'month', 'Asia/Tokyo');
    expect(new Date(p.startMs).toISOString()).toBe('2024-01-31T15:00:00.000Z');
    expect(new Date(p.endMs).toISOString()).toBe('2024-02-29T15:00:00.000Z');
  });

  it('every instant lies in its period, and the next period starts where this one ends (property)', () => {
    const zones = fc.constantFrom(
      'UTC',
      'America/New_York',
      'Europe/London',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
    );
    const units = fc.constantFrom('hour' as const, 'day' as const, 'month' as const);
    fc.assert(
      fc.property(
        fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
        zones,
        units,
        (ms, zone, unit) => {
          const p = calendarPeriod(ms, unit, zone);
          expect(p.startMs).toBeLessThanOrEqual(ms);
          expect(p.endMs).toBeGreaterThan(ms);
          expect(calendarPeriod(p.endMs, unit, zone).startMs).toBe(p.endMs);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('calendar quota', () => {
  it('allows the daily quota once per Paris day and resets at Paris midnight', () => {
    const limiter = new RateLimiter({
      algorithm: 'calendar_quota',
      limit: 3,
      period: 'day',
      time_zone: 'Europe/Paris',
    });
    const evening = Date.parse('2025-01-15T22:30:00Z'); // 23:30 in Paris
    for (let i = 0; i < 3; i++) expect(limiter.check('acme', evening + i).allowed).toBe(true);
    const denied = limiter.check('acme', evening + 10);
    expect(denied.allowed).toBe(false);
    expect(denied.resetAtMs).toBe(Date.parse('2025-01-15T23:00:00Z'));
    expect(denied.retryAfterMs).toBe(Date.parse('2025-01-15T23:00:00Z') - evening - 10);
    expect(limiter.check('acme', Date.parse('2025-01-15T23:00:00Z')).allowed).toBe(true);
  });
});

describe('algorithm parameters', () => {
  it('parses durations and refuses anything else', () => {
    expect(durationMs('1h30m')).toBe(5_400_000);
    expect(durationMs('250ms')).toBe(250);
    expect(durationMs(1500)).toBe(1500);
    for (const bad of ['', '1 hour', '-1s', '0s', 0, -5, Infinity]) expect(durationMs(bad)).toBeUndefined();
  });

  const bad: [AlgorithmSpec, string][] = [
    [{ algorithm: 'token_bucket', rate: -1, burst: 10 }, 'rate'],
    [{ algorithm: 'fixed_window', limit: 10, window: '1 minute' }, 'window'],
    [{ algorithm: 'sliding_window_log', limit: 2.5, window: '1s' }, 'limit'],
    [{ algorithm: 'calendar_quota', limit: 5, period: 'day', time_zone: 'Mars/Olympus' }, 'time_zone'],
    [{ algorithm: 'nope' } as unknown as AlgorithmSpec, 'algorithm'],
  ];
  for (const [spec, path] of bad) {
    it(`names "${path}" when it is wrong in ${JSON.stringify(spec)}`, () => {
      let error: unknown;
      try {
        createAlgorithm(spec);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(AlgorithmSpecError);
      expect((error as AlgorithmSpecError).path).toBe(path);
    });
  }
});
