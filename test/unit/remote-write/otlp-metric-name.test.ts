import { describe, expect, it } from 'vitest';
import { otelTranslationOf } from '../../../src/decide/otel-translation.js';
import {
  otlpNameSuffixBound,
  translateOtlpMetricNameBytes,
  translatedOtlpName,
} from '../../../src/remote-write/otlp-metric-name.js';
import type { OtelTranslation, OtlpNameType } from '../../../src/remote-write/otlp-metric-name.js';
import { enumIndex } from '../../../src/limits/limit-definitions.js';
import type { EnumLimitWord } from '../../../src/limits/limit-definitions.js';

const bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
const text = (s: string): string => Buffer.from(s, 'latin1').toString('utf8');
const build = (name: string, unit: string, type: OtlpNameType, strategy: OtelTranslation): string =>
  text(translateOtlpMetricNameBytes(bytes(name), bytes(unit), type, strategy));

const LEGACY_SUFFIXES = 'UnderscoreEscapingWithSuffixes';
const LEGACY = 'UnderscoreEscapingWithoutSuffixes';
const UTF8_SUFFIXES = 'NoUTF8EscapingWithSuffixes';

describe('OTLP metric name translation', () => {
  // prometheus/otlptranslator metric_namer_test.go TestMetricNamer_Build (the cases without a namespace).
  const cases: [string, string, OtlpNameType, OtelTranslation, string][] = [
    ['simple_metric', '', 'gauge', LEGACY, 'simple_metric'],
    ['metric@with#special$chars', '', 'gauge', LEGACY, 'metric_with_special_chars'],
    ['123metric', '', 'gauge', LEGACY, '_123metric'],
    ['', '', 'gauge', LEGACY, ''],
    ['metric@@##$$name', '', 'gauge', LEGACY, 'metric_name'],
    ['@#$%', '', 'gauge', LEGACY, ''],
    ['requests', '', 'counter', LEGACY_SUFFIXES, 'requests_total'],
    ['cpu_usage', '1', 'gauge', LEGACY_SUFFIXES, 'cpu_usage_ratio'],
    ['items', '1', 'counter', LEGACY_SUFFIXES, 'items_total'],
    ['response_time', 'ms', 'gauge', LEGACY_SUFFIXES, 'response_time_milliseconds'],
    ['memory_usage', 'By', 'gauge', LEGACY_SUFFIXES, 'memory_usage_bytes'],
    ['requests', '1/s', 'gauge', LEGACY_SUFFIXES, 'requests_per_second'],
    ['throughput', 'By/s', 'gauge', LEGACY_SUFFIXES, 'throughput_bytes_per_second'],
    ['custom_metric', 'custom_unit', 'gauge', LEGACY_SUFFIXES, 'custom_metric_custom_unit'],
    ['custom_metric', '{custom}', 'gauge', LEGACY_SUFFIXES, 'custom_metric'],
    ['custom_metric', 'By/{custom}', 'gauge', LEGACY_SUFFIXES, 'custom_metric_bytes'],
    ['requests_total', '', 'counter', LEGACY_SUFFIXES, 'requests_total'],
    ['cpu_usage_ratio', '1', 'gauge', LEGACY_SUFFIXES, 'cpu_usage_ratio'],
    ['response_time_seconds', 's', 'gauge', LEGACY_SUFFIXES, 'response_time_seconds'],
    ['requests_total', '', 'counter', UTF8_SUFFIXES, 'requests_total'],
    ['cpu_usage_ratio', '1', 'gauge', UTF8_SUFFIXES, 'cpu_usage_ratio'],
    ['response_time_seconds', 's', 'gauge', UTF8_SUFFIXES, 'response_time_seconds'],
    ['cpu_seconds_total', 's', 'counter', UTF8_SUFFIXES, 'cpu_seconds_total'],
    [
      'metric__with__multiple__underscores',
      'unit__multiple__underscores',
      'gauge',
      LEGACY_SUFFIXES,
      'metric_with_multiple_underscores_unit_multiple_underscores',
    ],
    [
      'custom_metric',
      'unit@with#special/chars',
      'gauge',
      LEGACY_SUFFIXES,
      'custom_metric_unit_with_special_per_chars',
    ],
    ['@#$%', '', 'gauge', LEGACY_SUFFIXES, ''],
    ['métric_with_ñ_chars', '', 'gauge', 'NoTranslation', 'métric_with_ñ_chars'],
    ['requêsts', '', 'counter', UTF8_SUFFIXES, 'requêsts_total'],
    ['cpu_usagé', '1', 'gauge', UTF8_SUFFIXES, 'cpu_usagé_ratio'],
    ['respønse_time', 'ms', 'gauge', UTF8_SUFFIXES, 'respønse_time_milliseconds'],
    ['requêsts', '1/s', 'gauge', UTF8_SUFFIXES, 'requêsts_per_second'],
    ['@#$%', '', 'counter', UTF8_SUFFIXES, '@#$%_total'],
    ['request_duration', 's', 'other', LEGACY_SUFFIXES, 'request_duration_seconds'],
    ['active_connections', '', 'other', LEGACY_SUFFIXES, 'active_connections'],
    ['uptime', 'd', 'gauge', LEGACY_SUFFIXES, 'uptime_days'],
  ];
  it.each(cases)('%s [%s] as %s under %s is %s', (name, unit, type, strategy, want) => {
    expect(build(name, unit, type, strategy)).toBe(want);
  });

  it('reads _info off the translated name', () => {
    const info = (name: string, unit: string, type: OtlpNameType, strategy: OtelTranslation): boolean =>
      translatedOtlpName(Buffer.from(name), Buffer.from(unit), type, strategy).info;
    expect(info('build.info', '', 'gauge', LEGACY)).toBe(true);
    expect(info('build.info', '', 'gauge', 'NoTranslation')).toBe(false);
    expect(info('build_info', '', 'gauge', 'NoTranslation')).toBe(true);
    expect(info('build.info', '', 'gauge', LEGACY_SUFFIXES)).toBe(true);
    expect(info('build.info', '', 'counter', LEGACY_SUFFIXES)).toBe(false);
    expect(info('build_info', 'By', 'gauge', LEGACY_SUFFIXES)).toBe(false);
    expect(info('build_info', '{build}', 'gauge', UTF8_SUFFIXES)).toBe(true);
    expect(info('build_info', '1', 'gauge', UTF8_SUFFIXES)).toBe(false);
    // A unit that is already one of the name's tokens adds nothing.
    expect(info('info', 'info', 'gauge', LEGACY_SUFFIXES)).toBe(false);
    expect(info('x_info', 'info', 'gauge', LEGACY_SUFFIXES)).toBe(true);
    expect(info('x_info', 'info', 'gauge', UTF8_SUFFIXES)).toBe(true);
  });

  it('adds no more than otlpNameSuffixBound to a name', () => {
    const units = [
      '',
      '1',
      's',
      'ms',
      'us',
      'By/s',
      'KiBy/mo',
      '1/s',
      'x/y',
      'é/ü',
      ' s ',
      'a.b/c.d',
      '/s',
      's/',
    ];
    const names = ['a', 'build.info', '1abc', 'total', 'ratio_total', 'é'];
    for (const strategy of [LEGACY, LEGACY_SUFFIXES, UTF8_SUFFIXES, 'NoTranslation'] as const)
      for (const type of ['gauge', 'counter', 'other'] as const)
        for (const unit of units)
          for (const name of names) {
            const out = translatedOtlpName(Buffer.from(name), Buffer.from(unit), type, strategy);
            expect(out.length).toBeLessThanOrEqual(
              Buffer.byteLength(name) + otlpNameSuffixBound(Buffer.byteLength(unit)),
            );
          }
  });
});

describe('otelTranslationOf', () => {
  // Mimir pkg/util/validation/limits_test.go TestOverrides_OTelTranslationStrategy.
  const of = (
    strategy: EnumLimitWord<'otel_translation_strategy'>,
    scheme: 'legacy' | 'utf8',
    suffixes: 'true' | 'false',
  ): OtelTranslation =>
    otelTranslationOf({
      otel_translation_strategy: enumIndex('otel_translation_strategy', strategy),
      name_validation_scheme: enumIndex('name_validation_scheme', scheme),
      otel_metric_suffixes_enabled: enumIndex('otel_metric_suffixes_enabled', suffixes),
    });
  it('explicit strategy takes precedence', () => {
    expect(of('UnderscoreEscapingWithSuffixes', 'utf8', 'false')).toBe('UnderscoreEscapingWithSuffixes');
  });
  it('derives it when unset', () => {
    expect(of('', 'legacy', 'true')).toBe('UnderscoreEscapingWithSuffixes');
    expect(of('', 'legacy', 'false')).toBe('UnderscoreEscapingWithoutSuffixes');
    expect(of('', 'utf8', 'true')).toBe('NoUTF8EscapingWithSuffixes');
    expect(of('', 'utf8', 'false')).toBe('NoTranslation');
  });
});
