// The limits-configuration endpoints' part of the OpenAPI document (versions, rollback, export, import):
// openapi.ts spreads it into `paths`, giving the document's own helpers so both halves describe routes alike.

type Json = Record<string, unknown>;

export interface ConfigPathHelpers {
  op: (summary: string, role: string, response: Json, extra?: Json) => Json;
  obj: (properties: Json, required?: string[]) => Json;
  query: (name: string, description: string, schema?: Json) => Json;
  ref: (name: string) => Json;
  /** The per-tenant, per-layer change map every configuration answer carries. */
  changes: Json;
  /** The `{n}` path parameter: a version number. */
  versionN: Json;
}

const int = { type: 'integer' };
const str = { type: 'string' };

export function configPaths({
  op,
  obj,
  query,
  ref,
  changes,
  versionN,
}: ConfigPathHelpers): Record<string, Json> {
  return {
    '/api/config/versions': {
      get: op(
        'Every retained version of the limits configuration, newest first: who, when, source, why.',
        'viewer',
        obj({
          versions: { type: 'array', items: ref('ConfigVersion') },
          current: int,
          oldest: { type: ['integer', 'null'] },
        }),
        { parameters: [query('limit', 'Most versions (default 100, at most 1000).', int)] },
      ),
    },
    '/api/config/versions/{n}': {
      get: op(
        'One version: its diff (per tenant and layer, before and after) and the whole configuration after it.',
        'viewer',
        {
          allOf: [
            ref('ConfigVersion'),
            obj({ role: { type: ['string', 'null'] }, diff: changes, config: ref('ConfigDocument') }),
          ],
        },
        { parameters: [versionN] },
      ),
    },
    '/api/config/rollback/{n}': {
      post: op(
        'Restore the configuration as it was right after version n, recorded as a new version (dry_run: only report).',
        'operator',
        obj({
          version: int,
          rolled_back_to: int,
          changed: changes,
          dry_run: { type: 'boolean' },
          would_change: changes,
        }),
        {
          parameters: [
            versionN,
            query('dry_run', 'true: report what would change, change nothing.', { type: 'boolean' }),
          ],
          requestBody: {
            required: false,
            content: { 'application/json': { schema: obj({ reason: str, dry_run: { type: 'boolean' } }) } },
          },
        },
      ),
    },
    '/api/config/export': {
      get: {
        ...op('The whole configuration as YAML (`overrides:` in Mimir format, `runtime:`).', 'viewer', str, {
          parameters: [query('version', 'A retained version instead of the current one.', int)],
        }),
        responses: {
          '200': { description: 'YAML', content: { 'application/yaml': { schema: str } } },
        },
      },
    },
    '/api/config/import': {
      post: op(
        'Replace the layers the YAML names (as exported) in one version; invalid input is refused whole (dry_run: only report).',
        'admin',
        obj({ version: int, changed: changes, dry_run: { type: 'boolean' }, would_change: changes }),
        {
          parameters: [
            query('dry_run', 'true: report what would change, change nothing.', { type: 'boolean' }),
            query('reason', 'Why (recorded with the version).'),
          ],
          requestBody: {
            required: true,
            content: {
              'application/yaml': { schema: str },
              'application/json': { schema: ref('ConfigDocument') },
            },
          },
        },
      ),
    },
  };
}
