// The denial log gate: in sampled mode a tenant's denials for one reason get at most one line per interval,
// the first at once, and no denial goes unaccounted: every one is a line, or counted in a later line's
// `suppressed`, or handed to the sweep's left-out report.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DenialLogGate, SUPPRESS } from '../../../src/decide/denial-log-gate.js';

const INTERVAL = 10_000;

describe('DenialLogGate', () => {
  it('logs every denial in all mode and none in none mode', () => {
    const all = new DenialLogGate('all', INTERVAL);
    const none = new DenialLogGate('none', INTERVAL);
    for (let t = 0; t < 100; t++) {
      expect(all.admit('a', 'ingestion_rate', t)).toBe(0);
      expect(none.admit('a', 'ingestion_rate', t)).toBe(SUPPRESS);
    }
    expect(all.size + none.size).toBe(0);
  });

  it('logs the first denial at once, then one line per interval with the count left out', () => {
    const gate = new DenialLogGate('sampled', INTERVAL);
    expect(gate.admit('a', 'ingestion_rate', 0)).toBe(0);
    for (let t = 1; t < 100; t++) expect(gate.admit('a', 'ingestion_rate', t)).toBe(SUPPRESS);
    // Another reason, another tenant: their own first lines.
    expect(gate.admit('a', 'request_rate', 50)).toBe(0);
    expect(gate.admit('b', 'ingestion_rate', 50)).toBe(0);
    expect(gate.admit('a', 'ingestion_rate', INTERVAL)).toBe(99);
    expect(gate.admit('a', 'ingestion_rate', INTERVAL + 1)).toBe(SUPPRESS);
  });

  it('accounts for every denial and keeps lines an interval apart, for any sequence', () => {
    const event = fc.record({
      tenant: fc.constantFrom('a', 'b', 'c'),
      reason: fc.constantFrom('ingestion_rate', 'request_rate'),
      gapMs: fc.integer({ min: 0, max: 4000 }),
      sweep: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 300 }), (events) => {
        const gate = new DenialLogGate('sampled', INTERVAL);
        const lastLine = new Map<string, number>();
        let now = 0;
        let accounted = 0;
        const leftOut = (_tenant: string, _reason: string, count: number) => {
          accounted += count;
        };
        for (const e of events) {
          now += e.gapMs;
          if (e.sweep) gate.sweep(now, leftOut);
          const key = `${e.tenant}/${e.reason}`;
          const answer = gate.admit(e.tenant, e.reason, now);
          if (answer === SUPPRESS) {
            // Left out only within an interval of the previous line.
            expect(now - lastLine.get(key)!).toBeLessThan(INTERVAL);
            continue;
          }
          const previous = lastLine.get(key);
          if (previous !== undefined) expect(now - previous).toBeGreaterThanOrEqual(INTERVAL);
          lastLine.set(key, now);
          accounted += 1 + answer;
        }
        gate.sweep(now + INTERVAL, leftOut);
        expect(accounted).toBe(events.length);
        expect(gate.size).toBe(0);
      }),
    );
  });
});
