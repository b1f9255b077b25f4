// The OpenAPI 3.1 document of the admin API, served at /api/openapi.json. Written by hand next to the
// routes; a test checks that every registered route is described here, so the two cannot drift apart.

import { LIMIT_DEFINITIONS } from '../limits/limit-definitions.js';
import { RANGES } from '../observe/stats/time-ranges.js';
import { ROLES } from '../observe/audit/roles.js';
import { insightPaths, insightSchemas } from './openapi-insight.js';
import { AGREEMENT_SCHEMAS, agreementPath } from './openapi-agreement.js';
import { blockPaths, blockSchemas } from './openapi-blocks.js';
import { listPaths } from './openapi-lists.js';
import { configPaths } from './openapi-config.js';
import { PROTECTION_SCHEMA, protectionPaths } from './openapi-protection.js';
import { ACTIVE_SERIES_SCHEMA, activeSeriesPaths } from './openapi-active-series.js';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const range = (fallback: string): Json => ({
  name: 'range',
  in: 'query',
  required: false,
  description: `Time range of windowed figures (default ${fallback}).`,
  schema: { type: 'string', enum: RANGES, default: fallback },
});
const query = (name: string, description: string, schema: Json = { type: 'string' }): Json => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const tenantId: Json = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const versionN: Json = { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };

function op(summary: string, role: string, response: Json, extra: Json = {}): Json {
  return {
    summary,
    'x-role': role,
    ...(role === 'public' ? { security: [] } : {}),
    responses: {
      '200': { description: 'OK', content: { 'application/json': { schema: response } } },
      '400': {
        description: 'Bad input; nothing changed.',
        content: { 'application/json': { schema: ref('Error') } },
      },
      ...(role === 'public'
        ? {}
        : {
            '401': {
              description: 'Missing or unknown bearer token.',
              content: { 'application/json': { schema: ref('Error') } },
            },
            '403': {
              description: `The token's role is below ${role}.`,
              content: { 'application/json': { schema: ref('Error') } },
            },
          }),
    },
    ...extra,
  };
}

const obj = (properties: Json, required: string[] = []): Json => ({ type: 'object', properties, required });
const num = { type: 'number' };
const int = { type: 'integer' };
const str = { type: 'string' };
const counts = { type: 'object', additionalProperties: int };
/** The JSON schema of one limit's value, by its kind (as the limits hold them: an enum as its index). */
function limitSchema(kind: (typeof LIMIT_DEFINITIONS)[number]['kind']): Json {
  if (kind === 'labels')
    return { type: 'array', items: { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' } };
  if (kind === 'label') return { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' };
  if (kind === 'attributes') return { type: 'array', items: { type: 'string', pattern: '^[^,]+$' } };
  if (kind === 'duration') return { type: 'string', example: '30s' };
  return { type: kind === 'float' ? 'number' : 'integer' };
}
const limitsObject = obj(
  Object.fromEntries(
    LIMIT_DEFINITIONS.map((d) => [d.name, { ...limitSchema(d.kind), description: d.description }]),
  ),
);
/** One tenant's entry in one layer of the limits configuration, before and after a version. */
const changes = {
  type: 'array',
  items: obj({
    layer: { type: 'string', enum: ['overrides_file', 'runtime_limits', 'runtime_enforcement'] },
    tenant: str,
    before: { type: ['object', 'null'] },
    after: { type: ['object', 'null'] },
  }),
};

export function openApiDocument(version: string): Json {
  const insight = { op, obj, ref, range, query };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Mimir Edge Enforcement admin API',
      version,
      description:
        'Per-tenant limits at the edge: live figures, limits and enforcement switches. Send `Authorization: Bearer <token>`; roles are viewer (read), operator (change limits and enforcement) and admin (everything).',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: obj({ error: str, path: str }, ['error']),
        ...insightSchemas(insight),
        ...AGREEMENT_SCHEMAS,
        ...blockSchemas,
        Role: { type: 'string', enum: ROLES },
        Window: obj(
          {
            span_seconds: num,
            requests: int,
            allowed: int,
            denied: int,
            denied_by_reason: counts,
            would_deny_by_reason: counts,
            deny_ratio: num,
            requests_per_second: num,
            samples_per_second: num,
            accepted_samples_per_second: num,
            rejected_samples_per_second: num,
            bytes_per_second: num,
            avg_series_per_request: num,
            max_series_per_request: int,
            max_label_names: int,
            avg_decision_latency_ms: num,
          },
          ['requests', 'allowed', 'denied', 'samples_per_second'],
        ),
        Trend: obj({
          direction: { type: 'string', enum: ['up', 'down', 'flat'] },
          samples_per_second_before: num,
          samples_per_second_after: num,
          samples_per_second_change_per_minute: num,
        }),
        Limits: limitsObject,
        ActiveSeries: ACTIVE_SERIES_SCHEMA,
        Tenant: obj(
          {
            id: str,
            active_series: { oneOf: [ref('ActiveSeries'), { type: 'null' }] },
            limits: ref('Limits'),
            agreement: { oneOf: [ref('TenantAgreement'), { type: 'null' }] },
            limits_source: { type: 'string', enum: ['defaults', 'overrides'] },
            limit_sources: {
              type: 'object',
              additionalProperties: { type: 'string', enum: ['default', 'overrides_file', 'runtime'] },
            },
            enforcement: obj({
              mode: ref('Mode'),
              tenant_mode: { oneOf: [ref('Mode'), { type: 'null' }] },
              enabled: { type: 'boolean' },
              dry_run: { type: 'boolean' },
              tenant_enabled: { type: 'boolean' },
              limits: { type: 'object', additionalProperties: { type: 'boolean' } },
            }),
            buckets: { type: ['object', 'null'] },
            stats: { type: ['object', 'null'], description: 'Counters since the service started.' },
            range: { type: 'string', enum: RANGES },
            window: ref('Window'),
            utilisation: obj({
              ingestion_rate_pct: num,
              ingestion_rate_accepted_pct: num,
              request_rate_pct: num,
              ingestion_burst_pct: num,
            }),
            trend: ref('Trend'),
            burst: { oneOf: [ref('Burst'), { type: 'null' }] },
            first_seen: { type: ['string', 'null'] },
            last_seen: { type: ['string', 'null'] },
          },
          ['id', 'limits', 'enforcement', 'window', 'utilisation'],
        ),
        Top: { type: 'array', items: obj({ tenant: str, value: num }) },
        Mode: {
          type: 'string',
          enum: ['enforce', 'dry-run', 'off'],
          description:
            'enforce: deny over a limit; dry-run: decide, record "would deny", forward; off: forward unmeasured.',
        },
        Protection: PROTECTION_SCHEMA,
        ModeState: obj({
          mode: ref('Mode'),
          changed_at: str,
          tenants: { type: 'array', items: obj({ tenant: str, mode: ref('Mode') }) },
          would_deny: obj({ since_start: int, last_5m_by_reason: counts }),
          unchecked_requests: int,
        }),
        Flow: obj({
          range: str,
          tenant: { type: ['string', 'null'] },
          bucket_seconds: num,
          since: {
            type: ['string', 'null'],
            description: 'When measuring started; earlier buckets are unknown.',
          },
          points: {
            type: 'array',
            items: obj({
              time: str,
              partial: { type: 'boolean', description: 'The bucket holding now, still filling.' },
              requests: int,
              allowed: int,
              denied: int,
              requests_per_second: num,
              samples_per_second: num,
              accepted_samples_per_second: num,
              rejected_samples_per_second: num,
              bytes_per_second: num,
              avg_series_per_request: num,
              avg_decision_latency_ms: num,
            }),
          },
          denied_by_reason: { type: 'object', additionalProperties: { type: 'array', items: int } },
        }),
        ConfigVersion: obj(
          {
            version: int,
            time: str,
            actor: str,
            source: {
              type: 'string',
              enum: ['overrides_file', 'configmap', 'api', 'rollback', 'import', 'state'],
            },
            reason: { type: ['string', 'null'] },
            action: str,
            tenant: { type: ['string', 'null'] },
            changes: int,
          },
          ['version', 'time', 'actor', 'source', 'reason'],
        ),
        ConfigDocument: obj({
          version: int,
          overrides: { type: 'object', additionalProperties: limitsObject },
          runtime: obj({
            limits: { type: 'object', additionalProperties: limitsObject },
            enforcement: { type: 'object' },
          }),
        }),
        AuditEntry: obj({
          id: int,
          time: str,
          actor: str,
          role: { type: 'string', enum: [...ROLES, 'system'] },
          action: str,
          tenant: { type: ['string', 'null'] },
          before: {},
          after: {},
          reason: { type: ['string', 'null'] },
          version: { type: ['integer', 'null'] },
        }),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      ...insightPaths(insight),
      ...blockPaths(),
      '/api/health': {
        get: op('Liveness: answers while the process runs.', 'public', obj({ status: str, time: str })),
      },
      '/api/openapi.json': { get: op('This document.', 'public', { type: 'object' }) },
      '/api/whoami': {
        get: op('The caller: token name and role.', 'viewer', obj({ name: str, role: ref('Role') })),
      },
      '/api/system/status': {
        get: op(
          'Mode, store, upstream health, live replicas, limits version and staleness, overrides source, listeners.',
          'viewer',
          {
            type: 'object',
            properties: {
              status: { type: 'string', enum: ['ok', 'degraded'] },
              upstream_health: {
                type: 'object',
                description:
                  'The periodic GET of UPSTREAM_HEALTH_PATH; `unknown` before the first probe or with none.',
                properties: {
                  target: { type: 'string' },
                  probe_url: { type: ['string', 'null'] },
                  status: { type: 'string', enum: ['up', 'down', 'unknown'] },
                  last_check: { type: ['string', 'null'] },
                  latency_ms: { type: ['number', 'null'] },
                  last_status_code: { type: ['integer', 'null'] },
                  last_error: { type: ['object', 'null'] },
                  since: { type: ['string', 'null'] },
                  interval_seconds: { type: ['number', 'null'] },
                  recent_forward_failures: { type: 'integer' },
                  recent_seconds: { type: 'number' },
                },
              },
              replicas: {
                type: 'array',
                description:
                  'Live replicas from their heartbeats in Redis (this one has `self: true`); else this process.',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    self: { type: 'boolean' },
                    hostname: { type: 'string' },
                    admin_address: { type: ['string', 'null'] },
                    proxy_address: { type: ['string', 'null'] },
                    started: { type: 'string' },
                    last_seen: { type: ['string', 'null'] },
                    config_version: { type: ['integer', 'null'] },
                  },
                },
              },
              replicas_source: { type: 'string', enum: ['redis', 'process'] },
              policies: {
                type: 'object',
                description:
                  'POLICY_FILE counters: `shared` in Redis; `fallback` while Redis is unreachable and this replica decides on its local share (status is then degraded).',
                properties: { shared: { type: 'boolean' }, fallback: { type: 'boolean' } },
              },
            },
          },
        ),
      },
      '/api/overview': {
        get: op(
          'Totals, windowed rates, trend and top tenants.',
          'viewer',
          obj({
            range: str,
            totals: { type: 'object' },
            window: ref('Window'),
            trend: ref('Trend'),
            top: obj({
              by_samples: ref('Top'),
              by_accepted_samples: ref('Top'),
              by_rejected_samples: ref('Top'),
              by_denials: ref('Top'),
              by_utilisation: ref('Top'),
              by_cost: ref('Top'),
            }),
            bursting: { type: 'array', items: ref('Burst') },
          }),
          {
            parameters: [range('1h'), query('top', 'How many tenants per top list (1-100, default 5).', int)],
          },
        ),
      },
      '/api/limits': { get: op('Limit definitions and defaults.', 'viewer', { type: 'object' }) },
      ...activeSeriesPaths(op),
      '/api/tenants': {
        get: op(
          'Every known tenant, searchable and sortable.',
          'viewer',
          obj({ range: str, total: int, tenants: { type: 'array', items: ref('Tenant') } }),
          {
            parameters: [
              range('1h'),
              query('q', 'Substring of the tenant id.'),
              query(
                'sort',
                'id, samples_per_second, accepted_samples_per_second, rejected_samples_per_second, ' +
                  'requests_per_second, denied, deny_ratio, utilisation, bytes_per_second.',
              ),
              query('order', 'asc or desc.'),
              query('limit', 'Most tenants returned.', int),
            ],
          },
        ),
      },
      '/api/tenants/{id}': {
        get: op(
          'One tenant: effective limits with sources, switches, buckets, window, trend.',
          'viewer',
          ref('Tenant'),
          { parameters: [tenantId, range('1h')] },
        ),
      },
      '/api/tenants/{id}/limits': {
        put: op(
          'Set or reset (null) runtime values of limits; applies at once; audited. A value is a number, an enum word (e.g. "true"), a label name, a list of label names (drop_labels) or a duration text (ha_tracker_failover_timeout); a bad one gets 400 naming limits.<name>.',
          'operator',
          obj({ version: int, audit_id: int, changed: { type: 'object' }, tenant: ref('Tenant') }),
          {
            parameters: [tenantId],
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: obj(
                    {
                      limits: {
                        type: 'object',
                        additionalProperties: {
                          oneOf: [
                            { type: 'number' },
                            { type: 'string' },
                            { type: 'array', items: { type: 'string' } },
                            { type: 'null' },
                          ],
                        },
                      },
                      reason: str,
                    },
                    ['limits'],
                  ),
                },
              },
            },
          },
        ),
        delete: op(
          'Remove every runtime limit of the tenant (the overrides file and defaults apply again); a new version.',
          'operator',
          obj({ version: int, audit_id: int, changed: { type: 'object' }, tenant: ref('Tenant') }),
          { parameters: [tenantId, query('reason', 'Why (recorded with the version).')] },
        ),
      },
      '/api/tenants/{id}/enforcement': {
        post: op(
          'Turn enforcement on or off for the tenant or per limit (off: observe only); audited.',
          'operator',
          obj({ version: int, audit_id: int, tenant: ref('Tenant') }),
          {
            parameters: [tenantId],
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: obj({
                    enabled: { type: 'boolean' },
                    limits: { type: 'object', additionalProperties: { type: ['boolean', 'null'] } },
                    reason: str,
                  }),
                },
              },
            },
          },
        ),
        delete: op(
          "Remove the tenant's runtime enforcement switches (CONFIG_FILE's apply again); a new version.",
          'operator',
          obj({ version: int, audit_id: int, tenant: ref('Tenant') }),
          { parameters: [tenantId, query('reason', 'Why (recorded with the version).')] },
        ),
      },
      ...configPaths({ op, obj, query, ref, changes, versionN }),
      '/api/agreement': agreementPath(op),
      '/api/system/mode': {
        get: op(
          'The enforcement mode, tenants with their own, would-deny counts.',
          'viewer',
          ref('ModeState'),
        ),
        post: op(
          'Switch the service-wide enforcement mode at runtime; audited.',
          'operator',
          ref('ModeState'),
          {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: obj({ mode: ref('Mode'), reason: str }, ['mode']) } },
            },
          },
        ),
      },
      ...protectionPaths(op),
      '/api/tenants/{id}/mode': {
        post: op(
          "Give a tenant its own enforcement mode (null: follow the service's); audited.",
          'operator',
          obj({
            audit_id: int,
            tenant: str,
            mode: { type: ['string', 'null'] },
            effective_mode: ref('Mode'),
          }),
          {
            parameters: [tenantId],
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: obj({ mode: { oneOf: [ref('Mode'), { type: 'null' }] }, reason: str }, ['mode']),
                },
              },
            },
          },
        ),
      },
      '/api/denials': {
        get: op(
          'Denials over the range: by reason, by tenant, most recent first.',
          'viewer',
          { type: 'object' },
          {
            parameters: [
              range('1h'),
              query('tenant', 'Only this tenant.'),
              query('reason', 'Only this reason.'),
              query('limit', 'Most recent events returned (default 100).', int),
            ],
          },
        ),
      },
      '/api/denials/groups': {
        get: op(
          'Denials over the range grouped by tenant, reason and message (numbers as N), most first.',
          'viewer',
          obj({
            range: str,
            tenant: { type: ['string', 'null'] },
            groups: {
              type: 'array',
              items: obj({
                tenant: { type: ['string', 'null'] },
                reason: str,
                would_deny: { type: 'boolean' },
                status: int,
                message_pattern: str,
                last_message: str,
                count: int,
                count_since_first_seen: int,
                first_seen: str,
                last_seen: str,
                limit: num,
                observed: num,
              }),
            },
          }),
          {
            parameters: [
              range('1h'),
              query('tenant', 'Only this tenant.'),
              query('reason', 'Only this reason.'),
              query('limit', 'Most groups returned (default 100, at most 1000).', int),
            ],
          },
        ),
      },
      '/api/denials/trends': {
        get: op(
          'Denials per bucket and reason over the range.',
          'viewer',
          { type: 'object' },
          { parameters: [range('1h')] },
        ),
      },
      '/api/cardinality': {
        get: op(
          'Series per request and label counts by tenant, with violations.',
          'viewer',
          { type: 'object' },
          { parameters: [range('1h')] },
        ),
      },
      '/api/traffic/flow': {
        get: op(
          'Requests received, forwarded, denied over the range.',
          'viewer',
          { type: 'object' },
          { parameters: [range('5m')] },
        ),
      },
      '/api/timeseries/{range}/flow': {
        get: op('Chart points per bucket, overall or for one tenant.', 'viewer', ref('Flow'), {
          parameters: [
            { name: 'range', in: 'path', required: true, schema: { type: 'string', enum: RANGES } },
            query('tenant', 'Only this tenant.'),
          ],
        }),
      },
      '/api/events': {
        get: {
          ...op(
            'Server-sent events: `update` with overview and the last minute of flow.',
            'viewer',
            { type: 'object' },
            {
              parameters: [range('5m'), query('interval', 'Seconds between updates (1-60, default 2).', int)],
            },
          ),
          responses: {
            '200': { description: 'text/event-stream', content: { 'text/event-stream': { schema: str } } },
          },
        },
      },
      ...listPaths({ op, obj, query }),
      '/api/audit': {
        get: op(
          'Changes made through this API, newest first.',
          'viewer',
          obj({ entries: { type: 'array', items: ref('AuditEntry') } }),
          {
            parameters: [
              query('tenant', 'Only this tenant.'),
              query('limit', 'Most entries (default 100).', int),
            ],
          },
        ),
      },
      '/api/docs': { get: op('The Markdown docs pages (for the UI wiki).', 'viewer', { type: 'object' }) },
      '/api/docs/{name}': {
        get: op('One docs page as Markdown.', 'viewer', obj({ name: str, markdown: str }), {
          parameters: [{ name: 'name', in: 'path', required: true, schema: str }],
        }),
      },
      '/api/debug/routes': { get: op('Every admin route.', 'viewer', { type: 'object' }) },
      '/api/debug/tenants': {
        get: op('Tenants held by the aggregation, store and counters; memory per tenant.', 'viewer', {
          type: 'object',
        }),
      },
      '/api/debug/add-test-data': {
        post: op(
          'Adds synthetic decisions to the aggregation (needs ADMIN_DEBUG=true).',
          'admin',
          { type: 'object' },
          {
            parameters: [
              query('tenants', 'How many tenants (default 5).', int),
              query('requests', 'Requests per tenant (default 20).', int),
            ],
          },
        ),
      },
    },
  };
}
