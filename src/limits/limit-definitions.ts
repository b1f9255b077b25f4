// The per-tenant limits the edge enforces, named and defaulted as Mimir names them (plus two of the
// edge's own). One table drives validation of overrides files, defaults from env vars, docs and the admin API.

export type LimitName =
  | 'ingestion_rate'
  | 'ingestion_burst_size'
  | 'ingestion_burst_factor'
  | 'request_rate'
  | 'request_burst_size'
  | 'max_label_names_per_series'
  | 'max_label_names_per_info_series'
  | 'max_label_name_length'
  | 'max_label_value_length'
  | 'max_body_bytes'
  | 'max_series_per_request'
  | 'max_global_exemplars_per_user'
  | 'max_exemplars_per_series_per_request'
  | 'label_value_length_over_limit_strategy'
  | 'max_metadata_length'
  | 'partial_acceptance'
  | 'selective_filtering'
  | 'drop_labels'
  | 'promote_otel_resource_attributes'
  | 'accept_ha_samples'
  | 'ha_cluster_label'
  | 'ha_replica_label'
  | 'ha_max_clusters'
  | 'ha_tracker_failover_timeout'
  | 'creation_grace_period'
  | 'edge_priority'
  | 'past_grace_period'
  | 'out_of_order_time_window'
  | 'name_validation_scheme'
  | 'otel_metric_suffixes_enabled'
  | 'otel_translation_strategy'
  | 'exact_validation'
  | 'max_native_histogram_buckets'
  | 'reduce_native_histogram_over_max_buckets'
  | 'native_histograms_ingestion_enabled'
  | 'enforce_metadata_metric_name'
  | 'max_global_series_per_user'
  | 'enforce_max_series_at_edge';

/** Limits that hold a list of names (Mimir's `flagext.StringSlice`): label names, or OTel attribute names. */
export type ListLimitName = 'drop_labels' | 'promote_otel_resource_attributes';
/** Limits that hold text: a label name, or a duration written as Mimir writes it ("30s"). */
export type TextLimitName =
  | 'ha_cluster_label'
  | 'ha_replica_label'
  | 'ha_tracker_failover_timeout'
  | 'creation_grace_period'
  | 'past_grace_period'
  | 'out_of_order_time_window';
/** Limits held as a number (an `enum` limit holds the index of its value). */
export type NumericLimitName = Exclude<LimitName, ListLimitName | TextLimitName>;

/** The value a limit holds: a number, a text, or a list of label names. */
export type LimitValue = number | string | readonly string[];
export type LimitValueOf<N extends LimitName> = N extends ListLimitName
  ? readonly string[]
  : N extends TextLimitName
    ? string
    : number;

/**
 * The words of each `enum` limit, in order: a limit holds the index of its word (so every limit stays a number).
 * YAML booleans are read as "false"/"true". The one place these words and their indexes are written: code asks
 * limitIs(limits, name, word), never compares an index.
 */
export const ENUM_LIMIT_VALUES = {
  label_value_length_over_limit_strategy: ['error', 'truncate', 'drop'],
  partial_acceptance: ['false', 'true'],
  selective_filtering: ['false', 'true'],
  accept_ha_samples: ['false', 'true'],
  name_validation_scheme: ['legacy', 'utf8'],
  otel_metric_suffixes_enabled: ['false', 'true'],
  // '' is Mimir's default: the strategy is derived from name_validation_scheme and otel_metric_suffixes_enabled.
  otel_translation_strategy: [
    '',
    'UnderscoreEscapingWithSuffixes',
    'UnderscoreEscapingWithoutSuffixes',
    'NoUTF8EscapingWithSuffixes',
    'NoTranslation',
  ],
  exact_validation: ['bounded', 'always'],
  reduce_native_histogram_over_max_buckets: ['false', 'true'],
  native_histograms_ingestion_enabled: ['false', 'true'],
  enforce_metadata_metric_name: ['false', 'true'],
  enforce_max_series_at_edge: ['false', 'true'],
} as const satisfies { readonly [N in NumericLimitName]?: readonly string[] };

export type EnumLimitName = keyof typeof ENUM_LIMIT_VALUES;
/** The words `name` takes: `limitIs(l, 'accept_ha_samples', 'yes')` does not compile. */
export type EnumLimitWord<N extends EnumLimitName> = (typeof ENUM_LIMIT_VALUES)[N][number];

/** The index an `enum` limit holds for `word`. */
export function enumIndex<N extends EnumLimitName>(name: N, word: EnumLimitWord<N>): number {
  return (ENUM_LIMIT_VALUES[name] as readonly string[]).indexOf(word);
}

/** Whether the `enum` limit `name` of `limits` (tenant limits, which hold indexes) is set to `word`. */
export function limitIs<N extends EnumLimitName>(
  limits: { readonly [K in N]: number },
  name: N,
  word: EnumLimitWord<N>,
): boolean {
  return limits[name] === (ENUM_LIMIT_VALUES[name] as readonly string[]).indexOf(word);
}

/** The highest edge_priority: such a tenant may use the whole adaptive ceiling (docs/protection.md). */
export const EDGE_PRIORITY_MAX = 10;

export interface LimitDefinition {
  name: LimitName;
  /**
   * Mimir's `float64` limits accept fractions; `int` limits must be whole numbers; `enum` limits take one of
   * `values` (YAML booleans read as "true"/"false") or its index, and hold the index, so every limit stays a
   * number. `label` holds one label name, `labels` a list of them, `attributes` a list of OTel attribute names
   * (any text without a comma, as Mimir's comma-separated flag holds them), `duration` a Go duration text ("30s", "1m30s",
   * "500ms"), kept as written so an export can be handed back to Mimir.
   */
  kind: 'float' | 'int' | 'enum' | 'label' | 'labels' | 'attributes' | 'duration';
  values?: readonly string[];
  /** Mimir's own default (or the edge's, for the edge's own limits). */
  defaultValue: LimitValue;
  /** Env var that sets the default for every tenant, where document 000 names one. */
  env?: string;
  /** What 0 means, when it is special. */
  zeroMeans?: string;
  /** The largest value a number limit may hold, when it has one. */
  max?: number;
  description: string;
}

export const LIMIT_DEFINITIONS: readonly LimitDefinition[] = [
  {
    name: 'ingestion_rate',
    kind: 'float',
    defaultValue: 10_000,
    env: 'DEFAULT_SAMPLES_PER_SECOND',
    description:
      'Samples, exemplars, native histogram samples and metadata per second (token bucket refill rate).',
  },
  {
    name: 'ingestion_burst_size',
    kind: 'int',
    defaultValue: 200_000,
    env: 'DEFAULT_BURST_SAMPLES',
    description: 'Token bucket size for ingestion_rate; a request costing more can never pass.',
  },
  {
    name: 'ingestion_burst_factor',
    kind: 'float',
    defaultValue: 0,
    zeroMeans: 'ingestion_burst_size is the bucket size',
    description:
      "Above 0, the ingestion_rate bucket holds ceil(ingestion_rate × this) items instead of ingestion_burst_size (Mimir's global ingestion strategy with a burst factor; the edge's bucket is the tenant's whole rate).",
  },
  {
    name: 'request_rate',
    kind: 'float',
    defaultValue: 0,
    env: 'DEFAULT_REQUESTS_PER_SECOND',
    zeroMeans: 'unlimited',
    description: 'Write requests per second.',
  },
  {
    name: 'request_burst_size',
    kind: 'int',
    defaultValue: 0,
    env: 'DEFAULT_BURST_REQUESTS',
    description: 'Token bucket size for request_rate.',
  },
  {
    name: 'max_label_names_per_series',
    kind: 'int',
    defaultValue: 30,
    env: 'DEFAULT_MAX_LABELS_PER_SERIES',
    zeroMeans: 'unlimited',
    description: 'Most labels (including __name__) one series may have.',
  },
  {
    name: 'max_label_names_per_info_series',
    kind: 'int',
    defaultValue: 80,
    zeroMeans: 'unlimited',
    description:
      'Most labels one info series (metric name ending in _info, such as target_info) may have; checked instead of max_label_names_per_series when that one is exceeded, as Mimir does.',
  },
  {
    name: 'max_label_name_length',
    kind: 'int',
    defaultValue: 1024,
    env: 'DEFAULT_MAX_LABEL_NAME_LENGTH',
    zeroMeans: 'unlimited',
    description: 'Longest label name, in bytes.',
  },
  {
    name: 'max_label_value_length',
    kind: 'int',
    defaultValue: 2048,
    env: 'DEFAULT_MAX_LABEL_VALUE_LENGTH',
    zeroMeans: 'unlimited',
    description: 'Longest label value, in bytes.',
  },
  {
    name: 'max_body_bytes',
    kind: 'int',
    defaultValue: 52_428_800,
    env: 'DEFAULT_MAX_BODY_BYTES',
    zeroMeans: 'unlimited (MAX_REQUEST_BYTES still applies)',
    description: "Largest request body on the wire, in bytes (the edge's own limit).",
  },
  {
    name: 'max_series_per_request',
    kind: 'int',
    defaultValue: 1_000_000,
    env: 'DEFAULT_MAX_SERIES_PER_REQUEST',
    zeroMeans: 'unlimited',
    description: "Most series one write request may carry (the edge's own limit).",
  },
  {
    name: 'max_global_exemplars_per_user',
    kind: 'int',
    defaultValue: 0,
    zeroMeans: 'exemplars disabled: Mimir drops them, so they are not charged to ingestion_rate',
    description: 'Exemplars kept per tenant; above 0, exemplars count towards ingestion_rate.',
  },
  {
    name: 'max_exemplars_per_series_per_request',
    kind: 'int',
    defaultValue: 0,
    zeroMeans: 'unlimited',
    description: 'Exemplars kept per series per request; Mimir drops (and does not charge) the rest.',
  },
  {
    name: 'label_value_length_over_limit_strategy',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.label_value_length_over_limit_strategy,
    defaultValue: enumIndex('label_value_length_over_limit_strategy', 'error'),
    description:
      'A label value over max_label_value_length: error refuses the series; truncate and drop let Mimir shorten it.',
  },
  {
    name: 'max_metadata_length',
    kind: 'int',
    defaultValue: 1024,
    zeroMeans: 'unlimited',
    description:
      'Longest metric name, unit and HELP of metadata, in bytes: a longer HELP is truncated by Mimir, a longer name or unit drops that metadata.',
  },
  {
    name: 'partial_acceptance',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.partial_acceptance,
    defaultValue: enumIndex('partial_acceptance', 'true'),
    description:
      "Invalid series: true forwards the valid ones and answers Mimir's 400 (Mimir's behaviour); false refuses the whole request.",
  },
  {
    name: 'selective_filtering',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.selective_filtering,
    defaultValue: enumIndex('selective_filtering', 'false'),
    description:
      'Over ingestion_rate: true forwards the series that fit the tokens left, in request order, and answers 429 with Retry-After for the rest (proxy only); false (the default, as Mimir) refuses the whole request.',
  },
  {
    name: 'drop_labels',
    kind: 'labels',
    defaultValue: [],
    description:
      'Label names Mimir removes from every series before validation: they neither count towards max_label_names_per_series nor have their lengths checked.',
  },
  {
    name: 'promote_otel_resource_attributes',
    kind: 'attributes',
    defaultValue: [],
    description:
      'OTLP resource attributes (e.g. k8s.cluster.name) Mimir copies onto every series of their resource as labels (translated names), unless a point attribute sets that label: they count towards the label limits and can name the HA labels.',
  },
  {
    name: 'accept_ha_samples',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.accept_ha_samples,
    defaultValue: enumIndex('accept_ha_samples', 'false'),
    description:
      'HA deduplication: true accepts samples only from the elected replica of each cluster (ha_cluster_label / ha_replica_label of the first series); the others get 202 and are dropped.',
  },
  {
    name: 'ha_cluster_label',
    kind: 'label',
    defaultValue: 'cluster',
    description: 'Label naming the HA cluster (the Prometheus pair) a request comes from.',
  },
  {
    name: 'ha_replica_label',
    kind: 'label',
    defaultValue: '__replica__',
    description: 'Label naming the replica within its HA cluster. Mimir removes it from ingested series.',
  },
  {
    name: 'ha_max_clusters',
    kind: 'int',
    defaultValue: 100,
    zeroMeans: 'unlimited',
    description: 'Most HA clusters tracked for the tenant; a request from one more cluster gets 400.',
  },
  {
    name: 'ha_tracker_failover_timeout',
    kind: 'duration',
    defaultValue: '30s',
    description:
      'Time without a request from the elected replica after which the next replica seen is elected (Mimir: -distributor.ha-tracker.failover-timeout).',
  },
  {
    name: 'creation_grace_period',
    kind: 'duration',
    defaultValue: '10m',
    description:
      'How far past now a timestamp may be: a series with a later sample is refused (400 err-mimir-too-far-in-future), a later exemplar dropped and not charged (Mimir: -validation.create-grace-period).',
  },
  {
    name: 'past_grace_period',
    kind: 'duration',
    defaultValue: '0s',
    zeroMeans: 'no bound in the past',
    description:
      'How far before now (less out_of_order_time_window) a sample may be: a series with an earlier sample is refused (400 err-mimir-too-far-in-past) (Mimir: -validation.past-grace-period).',
  },
  {
    name: 'out_of_order_time_window',
    kind: 'duration',
    defaultValue: '0s',
    description:
      "Mimir's out-of-order window; the edge reads it only to widen past_grace_period as Mimir does (Mimir: -ingester.out-of-order-time-window).",
  },
  {
    name: 'name_validation_scheme',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.name_validation_scheme,
    defaultValue: enumIndex('name_validation_scheme', 'legacy'),
    description:
      'Metric and label names: legacy accepts [a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]*, utf8 any non-empty UTF-8. A series with a missing or invalid name, a value that is not UTF-8 or a repeated label name is refused (Mimir: -validation.name-validation-scheme).',
  },
  {
    name: 'otel_metric_suffixes_enabled',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.otel_metric_suffixes_enabled,
    defaultValue: enumIndex('otel_metric_suffixes_enabled', 'false'),
    description:
      "true: OTLP metric names get Prometheus' suffixes (_total on a monotonic sum, the unit as a word such as _seconds or _bytes, _ratio on a gauge of unit 1), so a name so suffixed is no info series and its __name__ is longer; read where otel_translation_strategy is unset (Mimir: -distributor.otel-metric-suffixes-enabled).",
  },
  {
    name: 'otel_translation_strategy',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.otel_translation_strategy,
    defaultValue: enumIndex('otel_translation_strategy', ''),
    description:
      'How OTLP metric names are translated: empty (the default) derives it from name_validation_scheme and otel_metric_suffixes_enabled (legacy: UnderscoreEscapingWith[out]Suffixes, utf8: NoUTF8EscapingWithSuffixes or NoTranslation); set, it takes precedence. The edge reads it for which series are info series and for the __name__ length (Mimir: -distributor.otel-translation-strategy).',
  },
  {
    name: 'exact_validation',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.exact_validation,
    defaultValue: enumIndex('exact_validation', 'bounded'),
    description:
      "The edge's own. bounded: names and values are read series by series only when the scan's bounds call for it (another limit crossed, a non-ASCII RW2 symbol), so a remote write 1.0 series with an ASCII name Mimir refuses is forwarded and charged. always: every remote write request is read series by series (measured at about 11x the scan's CPU, BENCHMARKS.md) and such series are refused and not charged.",
  },
  {
    name: 'max_native_histogram_buckets',
    kind: 'int',
    defaultValue: 0,
    zeroMeans: 'unlimited',
    description:
      'Most buckets one native histogram sample may have: over it, Mimir reduces its resolution (reduce_native_histogram_over_max_buckets) or refuses its series (Mimir: -validation.max-native-histogram-buckets).',
  },
  {
    name: 'reduce_native_histogram_over_max_buckets',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.reduce_native_histogram_over_max_buckets,
    defaultValue: enumIndex('reduce_native_histogram_over_max_buckets', 'true'),
    description:
      'true: a native histogram over max_native_histogram_buckets is reduced by Mimir, and refused only when even schema -4 leaves too many buckets; false: refused (Mimir: -validation.reduce-native-histogram-over-max-buckets).',
  },
  {
    name: 'native_histograms_ingestion_enabled',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.native_histograms_ingestion_enabled,
    defaultValue: enumIndex('native_histograms_ingestion_enabled', 'true'),
    description:
      "Read by Mimir's ingesters, which drop native histograms when false; Mimir's distributor charges them to ingestion_rate either way, and so does the edge (Mimir: -ingester.native-histograms-ingestion-enabled).",
  },
  {
    name: 'enforce_metadata_metric_name',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.enforce_metadata_metric_name,
    defaultValue: enumIndex('enforce_metadata_metric_name', 'true'),
    description:
      'true: a remote write 1.0 metadata entry without a metric name is dropped with a 400 (err-mimir-metadata-missing-metric-name) and not charged (Mimir: -validation.enforce-metadata-metric-name).',
  },
  {
    name: 'edge_priority',
    kind: 'int',
    defaultValue: 5,
    env: 'DEFAULT_EDGE_PRIORITY',
    max: EDGE_PRIORITY_MAX,
    description:
      "The tenant's priority under adaptive protection, 0 (shed first) to 10 (shed last): when the upstream degrades, writes of the lowest priorities are answered 429 first (the edge's own limit; docs/protection.md).",
  },
  {
    name: 'max_global_series_per_user',
    kind: 'int',
    defaultValue: 150_000,
    zeroMeans: 'unlimited',
    description:
      "Most series the tenant may have in Mimir's ingesters (Mimir: -ingester.max-global-series-per-user). The edge estimates the tenant's active series and shows it against this limit (docs/active-series.md); it refuses new series over it only with enforce_max_series_at_edge. Needs ACTIVE_SERIES_ENABLED=true.",
  },
  {
    name: 'enforce_max_series_at_edge',
    kind: 'enum',
    values: ENUM_LIMIT_VALUES.enforce_max_series_at_edge,
    defaultValue: enumIndex('enforce_max_series_at_edge', 'false'),
    description:
      "true: once the tenant's estimated active series reach max_global_series_per_user, the series of a write that are new are refused with Mimir's 400 (err-mimir-max-series-per-user) and its known series are forwarded. false (the default): only observed. Needs ACTIVE_SERIES_ENABLED=true.",
  },
];

export const LIMIT_NAMES: readonly LimitName[] = LIMIT_DEFINITIONS.map((d) => d.name);

const byName = new Map<string, LimitDefinition>(LIMIT_DEFINITIONS.map((d) => [d.name, d]));

export function limitDefinition(name: string): LimitDefinition | undefined {
  return byName.get(name);
}

/**
 * Checks one limit value; returns an error message, or undefined when valid.
 * Mimir reads YAML numbers, so strings like "100" are refused rather than guessed at.
 */
export function validateLimitValue(def: LimitDefinition, value: unknown): string | undefined {
  if (def.kind === 'label') {
    if (typeof value !== 'string' || !LABEL_NAME.test(value))
      return `must be a label name ([a-zA-Z_][a-zA-Z0-9_]*), got ${JSON.stringify(value)}`;
    return undefined;
  }
  if (def.kind === 'labels') {
    if (!Array.isArray(value)) return `must be a list of label names, got ${JSON.stringify(value)}`;
    for (const [i, name] of (value as unknown[]).entries()) {
      if (typeof name !== 'string' || !LABEL_NAME.test(name))
        return `item ${i} must be a label name ([a-zA-Z_][a-zA-Z0-9_]*), got ${JSON.stringify(name)}`;
    }
    return undefined;
  }
  if (def.kind === 'attributes') {
    if (!Array.isArray(value)) return `must be a list of attribute names, got ${JSON.stringify(value)}`;
    for (const [i, name] of (value as unknown[]).entries()) {
      if (typeof name !== 'string' || !ATTRIBUTE_NAME.test(name))
        return `item ${i} must be an attribute name (non-empty, no comma), got ${JSON.stringify(name)}`;
    }
    return undefined;
  }
  if (def.kind === 'duration') {
    if (typeof value !== 'string' || durationMs(value) === undefined)
      return `must be a duration such as "30s", "1m30s" or "500ms", got ${JSON.stringify(value)}`;
    return undefined;
  }
  if (def.values) {
    // The index is accepted too, so a value read back from the admin API or a state file round-trips.
    const index = typeof value === 'number' ? value : def.values.indexOf(String(value));
    if (Number.isInteger(index) && index >= 0 && index < def.values.length) return undefined;
    return `must be one of ${def.values.join(', ')}, got ${JSON.stringify(value)}`;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return `must be a finite number, got ${JSON.stringify(value)}`;
  }
  if (value < 0) return `must be >= 0, got ${value}`;
  if (def.max !== undefined && value > def.max) return `must be <= ${def.max}, got ${value}`;
  if (def.kind === 'int' && !Number.isInteger(value)) return `must be a whole number, got ${value}`;
  return undefined;
}

/**
 * The value a valid limit is held as: an `enum` value's index, a frozen copy of a list (without repeats), else
 * the value itself.
 */
export function limitValue(def: LimitDefinition, value: unknown): LimitValue {
  if (def.kind === 'labels' || def.kind === 'attributes')
    return Object.freeze([...new Set(value as string[])]);
  if (!def.values || typeof value === 'number') return value as LimitValue;
  return def.values.indexOf(String(value));
}

/** An OTel attribute name as Mimir's comma-separated list flag can hold it. */
const ATTRIBUTE_NAME = /^[^,]+$/;

/** Prometheus' label name syntax: what Mimir's validation accepts as a name. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a Go-style duration text ("30s", "1m30s", "250ms"), or undefined when it is not one. */
export function durationMs(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(DURATION_PART)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Number.isFinite(total) ? total : undefined;
}
