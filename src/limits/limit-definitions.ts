// The per-tenant limits the edge enforces, named and defaulted as Mimir names them (plus two of the
// edge's own). One table drives validation of overrides files, defaults from env vars, docs and the admin API.

export type LimitName =
  | 'ingestion_rate'
  | 'ingestion_burst_size'
  | 'request_rate'
  | 'request_burst_size'
  | 'max_label_names_per_series'
  | 'max_label_name_length'
  | 'max_label_value_length'
  | 'max_body_bytes'
  | 'max_series_per_request'
  | 'max_global_exemplars_per_user'
  | 'max_exemplars_per_series_per_request'
  | 'label_value_length_over_limit_strategy'
  | 'max_metadata_length'
  | 'partial_acceptance';

export interface LimitDefinition {
  name: LimitName;
  /**
   * Mimir's `float64` limits accept fractions; `int` limits must be whole numbers; `enum` limits take one of
   * `values` (YAML booleans read as "true"/"false") or its index, and hold the index, so every limit stays a
   * number.
   */
  kind: 'float' | 'int' | 'enum';
  values?: readonly string[];
  /** Mimir's own default (or the edge's, for the edge's own limits). */
  defaultValue: number;
  /** Env var that sets the default for every tenant, where document 000 names one. */
  env?: string;
  /** What 0 means, when it is special. */
  zeroMeans?: string;
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
    values: ['error', 'truncate', 'drop'],
    defaultValue: 0,
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
    values: ['false', 'true'],
    defaultValue: 1,
    description:
      "Invalid series: true forwards the valid ones and answers Mimir's 400 (Mimir's behaviour); false refuses the whole request.",
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
  if (def.kind === 'int' && !Number.isInteger(value)) return `must be a whole number, got ${value}`;
  return undefined;
}

/** The number a valid limit value is held as: an `enum` value's index, else the number itself. */
export function limitValue(def: LimitDefinition, value: unknown): number {
  if (!def.values || typeof value === 'number') return value as number;
  return def.values.indexOf(String(value));
}
