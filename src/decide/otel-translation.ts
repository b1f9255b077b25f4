// The OTLP translation strategy Mimir applies to a tenant, from its limits.

import { ENUM_LIMIT_VALUES, limitIs } from '../limits/limit-definitions.js';
import type { OtelTranslation } from '../remote-write/index.js';

/**
 * The strategy Mimir's Overrides.OTelTranslationStrategy gives a tenant: otel_translation_strategy when set (it
 * takes precedence), else derived from name_validation_scheme and otel_metric_suffixes_enabled (Mimir's
 * pkg/util/validation/limits_test.go TestOverrides_OTelTranslationStrategy).
 */
export function otelTranslationOf(limits: {
  readonly otel_translation_strategy: number;
  readonly otel_metric_suffixes_enabled: number;
  readonly name_validation_scheme: number;
}): OtelTranslation {
  const set = ENUM_LIMIT_VALUES.otel_translation_strategy[limits.otel_translation_strategy];
  if (set !== undefined && set !== '') return set;
  const suffixes = limitIs(limits, 'otel_metric_suffixes_enabled', 'true');
  if (limitIs(limits, 'name_validation_scheme', 'utf8')) {
    return suffixes ? 'NoUTF8EscapingWithSuffixes' : 'NoTranslation';
  }
  return suffixes ? 'UnderscoreEscapingWithSuffixes' : 'UnderscoreEscapingWithoutSuffixes';
}
