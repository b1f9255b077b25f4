// Progressive penalties on a held clock, through the whole engine: a policy refuses an IP again and
// again, and the penalty blocks it for longer each time (the ladder, capped at its last rung), lets the
// level fall back after clean periods, and ends each block exactly at its end.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPolicySet, PolicyEngine } from '../../../../src/index.js';
import type { RequestContext } from '../../../../src/index.js';
import { levelAt, recordDenial } from '../../../../src/lib/policy/penalty.js';
import type { PenaltyRule } from '../../../../src/lib/policy/penalty.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const CLIENT: RequestContext = { ip: '198.51.100.7', path: '/login', method: 'POST' };

/** One request a second per IP; `after` refusals within a minute block the IP. */
function engineWith(after: number, durationsS: number[], decayS: number): PolicyEngine {
  return new PolicyEngine(
    loadPolicySet(`
policies:
  - name: login
    match: { scope: ip, path: /login }
    limit: { algorithm: fixed_window, limit: 1, window: 1s }
    penalty: { after: ${after}, window: 1m, durations: [${durationsS.map((d) => `${d}s`).join(', ')}], decay: ${decayS}s }
`),
  );
}

/** One offence at `t`: the one allowed request of that second, then `after` refusals. */
function offend(e: PolicyEngine, after: number, t: number): void {
  expect(e.evaluate(CLIENT, t).allowed).toBe(true);
  for (let i = 0; i < after; i++) expect(e.evaluate(CLIENT, t).outcome).toBe('rate_limited');
}

const ladders = fc
  .array(fc.integer({ min: 2, max: 600 }), { minLength: 1, maxLength: 5 })
  .map((d) => d.sort((a, b) => a - b));

describe('progressive penalties on a held clock', () => {
  it('escalates one level per offence, blocks for the ladder rung (the last one repeats), ends exactly at its end', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        ladders,
        fc.integer({ min: 1, max: 8 }),
        (after, ladder, offences) => {
          const e = engineWith(after, ladder, 86_400);
          let t = T0;
          for (let i = 0; i < offences; i++) {
            offend(e, after, t);
            const blocked = e.evaluate(CLIENT, t);
            expect(blocked.outcome).toBe('blocked');
            const level = Math.min(i + 1, ladder.length);
            expect(blocked.block?.level).toBe(level);
            const length = ladder[level - 1]! * 1000;
            expect(blocked.block?.endMs).toBe(t + length);
            // Still blocked one millisecond before the end, on every path, and free at the end itself.
            expect(e.evaluate({ ...CLIENT, path: '/other' }, t + length - 1).outcome).toBe('blocked');
            expect(e.evaluate(CLIENT, t + length).allowed).toBe(true);
            t += length + 1000; // the next offence a second after the block (the bucket has room again)
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('decays one level per clean `decay` period after a block, down to the first rung', () => {
    fc.assert(
      fc.property(
        ladders.filter((l) => l.length >= 2),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 6 }),
        fc.oneof(fc.constant(0), fc.constant(3_599_999), fc.integer({ min: 0, max: 3_599_999 })), // short of one more period
        (ladder, reached, cleanPeriods, extraMs) => {
          const decayS = 3600;
          const e = engineWith(1, ladder, decayS);
          let t = T0;
          let end = t;
          for (let i = 0; i < reached; i++) {
            offend(e, 1, t);
            end = e.evaluate(CLIENT, t).block!.endMs;
            t = end + 1000;
          }
          const level = Math.min(reached, ladder.length);
          // Clean: nothing refused for `cleanPeriods` whole decay periods (and less than one more) after the
          // last block; exactly on a period's end counts that period.
          const at = end + cleanPeriods * decayS * 1000 + extraMs;
          offend(e, 1, at);
          const next = e.evaluate(CLIENT, at).block!;
          const expected = Math.min(Math.max(0, level - cleanPeriods) + 1, ladder.length);
          expect(next.level).toBe(expected);
          expect(next.endMs - next.startMs).toBe(ladder[expected - 1]! * 1000);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('counts only refusals inside the window: fewer than `after` per window never blocks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 20 }), (after, windows) => {
        const e = engineWith(after, [60], 86_400);
        let t = T0;
        for (let w = 0; w < windows; w++) {
          offend(e, after - 1, t);
          // A second later the bucket has room again, and the identity was never blocked.
          expect(e.evaluate(CLIENT, t + 1000).allowed).toBe(true);
          t += 61_000;
        }
        expect(e.penalties.activeCount(t)).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  it('the pure ladder: a block never starts while one lasts, and the level never exceeds the ladder', () => {
    const rule: PenaltyRule = { after: 2, windowMs: 10_000, durationsMs: [1000, 5000], decayMs: 60_000 };
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 60 }), (gaps) => {
        let t = T0;
        let state = recordDenial(undefined, rule, t).state;
        for (const gap of gaps) {
          t += gap;
          const wasBlocked = t >= state.blockStartMs && t < state.blockEndMs;
          const r = recordDenial(state, rule, t);
          if (wasBlocked) expect(r.blocked).toBe(false);
          state = r.state;
          expect(state.level).toBeLessThanOrEqual(rule.durationsMs.length);
          expect(levelAt(state, rule, t)).toBeLessThanOrEqual(state.level);
        }
      }),
    );
  });
});
