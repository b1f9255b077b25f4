// Adaptive protection's admission (docs/protection.md#shedding-by-priority): under the ceiling the lowest
// edge_priority is refused first and the highest last; observe counts what enforce would refuse and refuses
// nothing; off counts nothing; the samples/s ceiling is shared out the same way.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UpstreamProtection } from '../../../src/decide/adaptive/upstream-protection.js';
import type { AdaptiveSettings } from '../../../src/settings/settings.js';

const settings: AdaptiveSettings = {
  mode: 'enforce',
  minCeiling: 4,
  maxCeiling: 100,
  latencyTargetMs: 50,
  errorPercent: 5,
  backoffPercent: 90,
  increase: 5,
  windowMs: 1000,
  lowestPriorityPercent: 50,
  maxSamplesPerSecond: 0,
};

/** Fills the process with `n` admitted writes of priority 10. */
function fill(p: UpstreamProtection, n: number): void {
  for (let i = 0; i < n; i++) expect(p.admit(10, 0)).toBe('counted');
}

describe('UpstreamProtection', () => {
  it('gives priority 0 half the ceiling, priority 10 all of it, and the ones between a linear share', () => {
    const p = new UpstreamProtection(settings, 0);
    expect([0, 5, 10].map((x) => p.admittedBelow(x))).toEqual([50, 75, 100]);
    expect([0, 5, 10].map((x) => p.totalBelow(x))).toEqual([100, 125, 150]);
    fill(p, 50);
    expect(p.admit(0, 0)).toBe('shed');
    expect(p.admit(5, 0)).toBe('counted'); // 50 of priority 5 and above are in flight, under 75
    fill(p, 49);
    expect(p.admit(9, 0)).toBe('shed'); // 99 of priority 9 and above, over 95
    expect(p.admit(10, 0)).toBe('counted'); // the 100th of priority 10 (the priority-5 write is not in its way)
    expect(p.admit(10, 0)).toBe('shed'); // the whole ceiling is priority 10's
    expect(p.inflight).toBe(101);
    expect(Array.from(p.shed)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    p.releaseFor[10]!();
    expect(p.admit(10, 0)).toBe('counted');
  });

  it('does not let lower-priority writes already in flight hold a higher priority back', () => {
    const p = new UpstreamProtection(settings, 0);
    for (let i = 0; i < 50; i++) expect(p.admit(0, 0)).toBe('counted');
    expect(p.admit(0, 0)).toBe('shed');
    // The ceiling halves (the upstream slowed down); the 50 low-priority writes stay in flight meanwhile.
    for (let i = 0; i < 10; i++) p.answered('write', 200, 200);
    p.tick(1000);
    expect(p.ceiling).toBe(50);
    // Priority 10 still gets its own writes in, up to the allowance: all in flight under (1 + 0.5) × 50.
    for (let i = 0; i < 25; i++) expect(p.admit(10, 1000)).toBe('counted');
    expect(p.admit(10, 1000)).toBe('shed');
    expect(p.admit(0, 1000)).toBe('shed');
    expect(p.inflightFrom(10)).toBe(25);
    // As the low-priority writes finish, the room is priority 10's, not theirs.
    for (let i = 0; i < 30; i++) p.releaseFor[0]!();
    expect(p.admit(0, 1000)).toBe('shed'); // 45 in flight, priority 0 gets only 25
    for (let i = 0; i < 20; i++) expect(p.admit(10, 1000)).toBe('counted');
    expect(p.inflight).toBe(65);
  });

  it('sheds the lowest priorities first and never lets more than (1 + L) × the ceiling in, whatever the mix', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 10 }), fc.boolean()), { minLength: 1, maxLength: 400 }),
        (events) => {
          const p = new UpstreamProtection(settings, 0);
          const held = new Array<number>(11).fill(0);
          for (const [priority, finishOne] of events) {
            const from = p.inflightFrom(priority);
            const total = p.inflight;
            // Refused exactly when its priority's share or the total allowance is reached, admitted below both.
            const refused = from >= p.admittedBelow(priority) || total >= p.totalBelow(priority);
            const admission = p.admit(priority, 0);
            expect(admission === 'shed').toBe(refused);
            if (admission === 'counted') held[priority]!++;
            if (finishOne && held[priority]! > 0) {
              p.releaseFor[priority]!();
              held[priority]!--;
            }
            expect(p.inflight).toBe(held.reduce((a, b) => a + b, 0));
            expect(p.inflight).toBeLessThanOrEqual(Math.floor(p.ceiling * 1.5));
          }
          // Every admission given back: nothing is left counted.
          for (let q = 0; q <= 10; q++) for (let n = held[q]!; n > 0; n--) p.releaseFor[q]!();
          expect([p.inflight, p.inflightFrom(0)]).toEqual([0, 0]);
          // The shares never shrink as the priority rises: a write is never refused while a lower one would pass.
          for (let q = 1; q <= 10; q++) {
            expect(p.admittedBelow(q)).toBeGreaterThanOrEqual(p.admittedBelow(q - 1));
            expect(p.totalBelow(q)).toBeGreaterThanOrEqual(p.totalBelow(q - 1));
          }
        },
      ),
    );
  });

  it('lowers what it admits as the upstream degrades, and admits again when it recovers', () => {
    const p = new UpstreamProtection(settings, 0);
    for (let t = 1; t <= 30; t++) {
      for (let i = 0; i < 50; i++) p.answered('write', 500, 200); // ten times the target
      p.tick(t * 1000);
    }
    expect(p.ceiling).toBe(4);
    expect(p.admittedBelow(0)).toBe(2);
    fill(p, 4);
    expect(p.admit(10, 30_000)).toBe('shed');
    expect(p.report(30_000)).toMatchObject({ ceiling: 4, inflight: 4, lastReason: 'latency' });
    expect(p.changes.get('down:latency')).toBeGreaterThan(0);
    for (let i = 0; i < 4; i++) p.releaseFor[10]!();
    for (let t = 31; t <= 60; t++) {
      for (let i = 0; i < 50; i++) p.answered('write', 10, 200);
      p.tick(t * 1000);
    }
    expect(p.ceiling).toBe(100);
    expect(p.report(60_000).lastReason).toBe('healthy');
  });

  it('observe mode refuses nothing but counts what enforce would refuse', () => {
    const p = new UpstreamProtection({ ...settings, mode: 'observe' }, 0);
    fill(p, 50);
    expect(p.admit(0, 0)).toBe('counted');
    expect(p.inflight).toBe(51);
    expect(p.wouldShed[0]).toBe(1);
    expect(p.shed[0]).toBe(0);
    p.setMode('enforce', 1);
    expect(p.admit(0, 1)).toBe('shed');
  });

  it('off counts and watches nothing; leaving off starts again from the maximum', () => {
    const p = new UpstreamProtection({ ...settings, mode: 'off' }, 0);
    for (let i = 0; i < 1000; i++) expect(p.admit(0, 0)).toBe('uncounted');
    expect(p.inflight).toBe(0);
    p.answered('write', 10_000, 503);
    expect(p.tick(5000)).toBeUndefined();
    expect(p.ceiling).toBe(100);
    p.setMode('enforce', 6000);
    expect(p.tick(7000)).toMatchObject({ reason: 'idle' }); // the slow answer seen while off was not kept
    expect(p.report(7000).mode).toBe('enforce');
  });

  it('shares the samples/s ceiling by priority and scales it with the in-flight ceiling', () => {
    const p = new UpstreamProtection({ ...settings, maxSamplesPerSecond: 10_000 }, 0);
    p.forwarded(5_000, 100);
    expect(p.admit(0, 200)).toBe('shed'); // 5,000/s is priority 0's half of 10,000/s
    expect(p.admit(10, 200)).toBe('counted');
    p.forwarded(5_000, 300);
    expect(p.admit(10, 400)).toBe('shed');
    // A second later the old second counts in part; two seconds later not at all.
    expect(p.samplesRate(1500)).toBeCloseTo(5_000);
    expect(p.samplesRate(3000)).toBe(0);
    expect(p.admit(0, 3000)).toBe('counted');
    for (let t = 4; t <= 10; t++) {
      p.answered('write', 1, 503);
      p.tick(t * 1000);
    }
    expect(p.samplesCeiling).toBe(Math.floor(10_000 * p.controller.ratio));
    expect(p.samplesCeiling).toBeLessThan(10_000);
  });
});
