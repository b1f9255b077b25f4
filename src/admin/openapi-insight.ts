// The OpenAPI description of the cost and behaviour endpoints (insight-routes.ts), kept beside openapi.ts
// so that file stays within its size. openapi.ts passes in its helpers, so both build schemas alike.

type Json = Record<string, unknown>;

export interface OpenApiHelpers {
  op: (summary: string, role: string, response: Json, extra?: Json) => Json;
  obj: (properties: Json, required?: string[]) => Json;
  ref: (name: string) => Json;
  range: (fallback: string) => Json;
  query: (name: string, description: string, schema?: Json) => Json;
}

const num = { type: 'number' };
const int = { type: 'integer' };
const str = { type: 'string' };
const nullable = (schema: Json): Json => ({ oneOf: [schema, { type: 'null' }] });

export function insightSchemas({ obj }: OpenApiHelpers): Json {
  return {
    Burst: obj(
      {
        tenant: str,
        flagged: { type: 'boolean' },
        warm: { type: 'boolean', description: 'False until the tenant has BURST_WARMUP of history.' },
        rate: { ...num, description: 'Recent items/s (EWMA over BURST_WINDOW).' },
        baseline: { ...num, description: 'Baseline items/s (EWMA over BURST_BASELINE).' },
        ratio: {
          type: ['number', 'null'],
          description: 'rate / baseline; null for traffic after a silent baseline.',
        },
        since: { type: ['string', 'null'] },
        peak_rate: { type: ['number', 'null'] },
        history_seconds: num,
      },
      ['tenant', 'flagged', 'rate', 'baseline'],
    ),
    CostRow: obj(
      {
        tenant: str,
        samples: { ...num, description: 'Accepted items (samples, histogram samples, exemplars, metadata).' },
        bytes: { ...num, description: 'Compressed bytes of accepted write bodies.' },
        samples_cost: num,
        bytes_cost: num,
        total_cost: num,
        samples_rejected: num,
        bytes_rejected: num,
        span_seconds: num,
      },
      ['tenant', 'samples', 'bytes', 'total_cost'],
    ),
  };
}

export function insightPaths({ op, obj, ref, range, query }: OpenApiHelpers): Json {
  const costJson = obj({
    range: str,
    from: str,
    to: str,
    since: str,
    currency: str,
    prices: obj({ per_million_samples: num, per_gib: num }),
    tenants: { type: 'array', items: ref('CostRow') },
    total: obj({ samples: num, bytes: num, samples_cost: num, bytes_cost: num, total_cost: num }),
  });
  const cost = op(
    'Accepted items and bytes per tenant over the range, priced (JSON or CSV).',
    'viewer',
    costJson,
    {
      parameters: [
        range('24h'),
        query('format', 'json (default) or csv.', { type: 'string', enum: ['json', 'csv'] }),
      ],
    },
  );
  const responses = cost.responses as Record<string, Json>;
  responses['200'] = {
    description: 'OK. CSV: one row per tenant, RFC 4180, formula-like cells prefixed with an apostrophe.',
    content: { 'application/json': { schema: costJson }, 'text/csv': { schema: str } },
  };
  const pastBurst = obj({
    tenant: str,
    start: str,
    end: str,
    duration_seconds: num,
    peak_rate: num,
    baseline: num,
  });
  return {
    '/api/cost': { get: cost },
    '/api/bursts': {
      get: op(
        'Tenants bursting now against their own baseline, the detector settings, and recent bursts.',
        'viewer',
        obj({
          enabled: { type: 'boolean' },
          settings: { type: 'object' },
          flagged: { type: 'array', items: ref('Burst') },
          tenants: int,
          recent: { type: 'array', items: pastBurst },
        }),
      ),
    },
    '/api/top-offenders': {
      get: op(
        'Top tenants by denials, by cost and by series growth over the range, and those bursting now.',
        'viewer',
        obj({
          range: str,
          currency: str,
          by_denials: {
            type: 'array',
            items: obj({ tenant: str, denied: int, deny_ratio: num, samples_rejected: num }),
          },
          by_cost: { type: 'array', items: obj({ tenant: str, total_cost: num, samples: num, bytes: num }) },
          by_series_growth: nullable({ type: 'array', items: obj({ tenant: str, value: num }) }),
          bursting: { type: 'array', items: ref('Burst') },
        }),
        { parameters: [range('24h'), query('top', 'How many tenants per list (1-100, default 10).', int)] },
      ),
    },
  };
}
