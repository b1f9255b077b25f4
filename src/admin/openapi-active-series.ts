// The active-series part of the admin API's OpenAPI document (src/admin/openapi.ts): its paths and schema.

type Json = Record<string, unknown>;
type Op = (summary: string, role: string, response: Json, extra?: Json) => Json;

const obj = (properties: Json, required: string[] = []): Json => ({ type: 'object', properties, required });
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const num = { type: 'number' };
const int = { type: 'integer' };
const str = { type: 'string' };
const tenantId: Json = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const query = (name: string, description: string, schema: Json): Json => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});

export const ACTIVE_SERIES_SCHEMA: Json = obj({
  tenant: str,
  active_series: int,
  local_active_series: int,
  shared: { type: 'boolean' },
  max_global_series_per_user: int,
  utilisation: num,
  growth_per_minute: num,
  seconds_to_limit: { type: ['integer', 'null'] },
  new_series_last_minute: int,
  new_series_per_minute_10m: num,
  new_series_total: int,
  top_new_metrics: {
    type: 'array',
    items: obj({ name: str, new_series: int, error: int }),
  },
  new_series_refused_requests: int,
  memory_bytes: int,
  sample_every: int,
});

export function activeSeriesPaths(op: Op): Json {
  return {
    '/api/active-series': {
      get: op(
        "Every tracked tenant's estimated active series against max_global_series_per_user, time to limit, new-series rate and top new metric names; top offenders by series growth.",
        'viewer',
        obj({
          enabled: { type: 'boolean' },
          window_seconds: num,
          sample_every: int,
          tracked_tenants: int,
          max_tenants: int,
          memory_bytes: int,
          sort: str,
          tenants: { type: 'array', items: ref('ActiveSeries') },
          top_growth: { type: 'array', items: { type: 'object' } },
        }),
        {
          parameters: [
            query('sort', 'utilisation (default), active_series, growth or new_series.', {
              type: 'string',
              enum: ['utilisation', 'active_series', 'growth', 'new_series'],
            }),
            query('limit', 'Most tenants listed (1 to 10000, default 100).', { type: 'integer' }),
          ],
        },
      ),
    },
    '/api/active-series/{id}': {
      get: op("One tenant's active series (404 when not tracked).", 'viewer', ref('ActiveSeries'), {
        parameters: [tenantId],
      }),
    },
  };
}
