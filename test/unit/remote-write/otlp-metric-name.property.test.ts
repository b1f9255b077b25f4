// The OTLP metric name per translation strategy (src/remote-write/otlp-metric-name.ts) against a straightforward
// reference for any name and unit: without suffixes it is the default translation the info test holds
// (otlp-info-name.property.test.ts), read the same way by translatedEndsInInfo; with suffixes it is that name's
// tokens followed by the unit's and the type's, never longer than the scan's bound (otlpNameSuffixBound).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { translatedEndsInInfo } from '../../../src/remote-write/otlp-proto-drop-pass.js';
import { otlpNameSuffixBound, translatedOtlpName } from '../../../src/remote-write/otlp-metric-name.js';
import type { OtelTranslation, OtlpNameType } from '../../../src/remote-write/otlp-metric-name.js';

const encode = (s: string): Uint8Array => new TextEncoder().encode(s);

/** otlptranslator BuildCompliantMetricName without suffixes (as in otlp-info-name.property.test.ts). */
function reference(name: string): string {
  const joined = name
    .split(/[^A-Za-z0-9:_]+/u)
    .filter((piece) => piece !== '')
    .join('_');
  const out = /^[0-9]/.test(joined) ? `_${joined}` : joined;
  return out !== name && /^_*$/.test(out) ? '' : out;
}

const nameChars = fc.constantFrom(
  'a',
  'b',
  'z',
  '_',
  '.',
  ':',
  '1',
  ' ',
  'é',
  '信',
  '/',
  '{',
  '}',
  'info',
  'total',
);
const text = fc.array(nameChars, { maxLength: 12 }).map((parts) => parts.join(''));
const unit = fc.oneof(
  fc.constantFrom(
    '',
    '1',
    's',
    'ms',
    'By',
    'KiBy',
    'By/s',
    '1/s',
    '{req}',
    '{req}/s',
    'x/y',
    ' s ',
    '%',
    '/mo',
  ),
  text,
);
const type = fc.constantFrom<OtlpNameType>('gauge', 'counter', 'other');
const strategy = fc.constantFrom<OtelTranslation>(
  'UnderscoreEscapingWithSuffixes',
  'UnderscoreEscapingWithoutSuffixes',
  'NoUTF8EscapingWithSuffixes',
  'NoTranslation',
);

describe('OTLP metric name translation, any name and unit', () => {
  it('without suffixes is the default translation, and its _info is what translatedEndsInInfo reads', () => {
    fc.assert(
      fc.property(text, unit, type, (name, u, t) => {
        const bytes = encode(name);
        const out = translatedOtlpName(bytes, encode(u), t, 'UnderscoreEscapingWithoutSuffixes');
        const want = reference(name);
        expect(out.length).toBe(encode(want).length);
        expect(out.info).toBe(want.endsWith('_info'));
        expect(out.info).toBe(translatedEndsInInfo(bytes, 0, bytes.length));
      }),
      { numRuns: 2000 },
    );
  });

  it('NoTranslation keeps the name as sent', () => {
    fc.assert(
      fc.property(text, unit, type, (name, u, t) => {
        const out = translatedOtlpName(encode(name), encode(u), t, 'NoTranslation');
        expect(out.length).toBe(encode(name).length);
        expect(out.info).toBe(name.endsWith('_info'));
      }),
    );
  });

  it('with suffixes, a counter ends in _total and a gauge of unit 1 in _ratio, so neither is an info series', () => {
    fc.assert(
      fc.property(text, unit, strategy, (name, u, s) => {
        if (s !== 'UnderscoreEscapingWithSuffixes' && s !== 'NoUTF8EscapingWithSuffixes') return;
        const counter = translatedOtlpName(encode(name), encode(u), 'counter', s);
        expect(counter.info).toBe(false);
        const ratio = translatedOtlpName(encode(name), encode('1'), 'gauge', s);
        expect(ratio.info).toBe(false);
      }),
    );
  });

  it('is never longer than the name as sent plus otlpNameSuffixBound of its unit', () => {
    fc.assert(
      fc.property(text, unit, type, strategy, (name, u, t, s) => {
        const out = translatedOtlpName(encode(name), encode(u), t, s);
        expect(out.length).toBeLessThanOrEqual(encode(name).length + otlpNameSuffixBound(encode(u).length));
      }),
      { numRuns: 3000 },
    );
  });
});
