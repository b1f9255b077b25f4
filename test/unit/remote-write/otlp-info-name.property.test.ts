// Which OTLP metric names make info series: those whose name, as Mimir's translation writes it under the legacy
// scheme, ends in `_info`. The reference below is the translation as otlptranslator's BuildCompliantMetricName
// does it without suffixes (Mimir's default, `otel_metric_suffixes_enabled: false`): strings.FieldsFunc on the
// characters outside [A-Za-z0-9:_], joined with "_", and "_" before a leading digit.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { translatedEndsInInfo } from '../../../src/remote-write/otlp-proto-drop-pass.js';

function translated(name: string): string {
  const joined = name
    .split(/[^A-Za-z0-9:_]+/u)
    .filter((piece) => piece !== '')
    .join('_');
  return /^[0-9]/.test(joined) ? `_${joined}` : joined;
}

const endsInInfo = (name: string): boolean => {
  const bytes = new TextEncoder().encode(name);
  return translatedEndsInInfo(bytes, 0, bytes.length);
};

describe('an OTLP metric name makes info series when its translated name ends in _info', () => {
  it.each([
    ['build_info', true],
    ['build.info', true],
    ['build.info.', true], // the trailing run vanishes
    ['build..info', true],
    ['build_.info', true], // build__info
    ['.info', false], // info
    ['info', false],
    ['_info', true],
    ['build:info', false],
    ['buildinfo', false],
    ['build info ', true],
    ['build_info_total', false],
    ['build.信息.info', true],
    ['信info', false],
  ])('%s → %s', (name, expected) => {
    expect(endsInInfo(name)).toBe(expected);
    expect(translated(name).endsWith('_info')).toBe(expected);
  });

  it('agrees with the translation for any name', () => {
    const alphabet = fc.constantFrom('a', 'i', 'n', 'f', 'o', '_', ':', '.', '-', ' ', '1', 'é', '信');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 12 }), fc.boolean(), (chars, withInfo) => {
        const name = chars.join('') + (withInfo ? 'info' : '') + (chars.length % 3 === 0 ? '.' : '');
        expect(endsInInfo(name)).toBe(translated(name).endsWith('_info'));
      }),
      { numRuns: 2000 },
    );
  });
});
