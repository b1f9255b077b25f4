// The Blocks page's "ends in …": the two largest units, never more than one unit short of the truth.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { remainingText } from '../../../ui/src/logic/block-time.js';

const UNIT_S: Record<string, number> = { d: 86_400, h: 3600, m: 60, s: 1 };

function secondsOf(text: string): number {
  let total = 0;
  for (const m of text.matchAll(/(\d+)([dhms])/g)) total += Number(m[1]) * UNIT_S[m[2]!]!;
  return total;
}

describe('remainingText', () => {
  it('reads as a user expects', () => {
    expect(remainingText(0)).toBe('0s');
    expect(remainingText(59)).toBe('59s');
    expect(remainingText(599)).toBe('9m 59s');
    expect(remainingText(3600)).toBe('1h 0m');
    expect(remainingText(7500)).toBe('2h 5m');
    expect(remainingText(90_000)).toBe('1d 1h');
  });

  it('is never more than its smallest unit short, and never long', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 * 86_400 }), (s) => {
        const text = remainingText(s);
        const shown = secondsOf(text);
        const smallest = UNIT_S[text.at(-1)!]!;
        expect(shown).toBeLessThanOrEqual(s);
        expect(s - shown).toBeLessThan(smallest);
      }),
    );
  });
});
