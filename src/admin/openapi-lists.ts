// The list endpoints' part of the OpenAPI document (openapi.ts spreads it into `paths`), given the
// document's own helpers so both halves describe routes the same way.

type Json = Record<string, unknown>;

export interface OpenApiHelpers {
  op: (summary: string, role: string, response: Json, extra?: Json) => Json;
  obj: (properties: Json, required?: string[]) => Json;
  query: (name: string, description: string, schema?: Json) => Json;
}

const int = { type: 'integer' };
const str = { type: 'string' };
const nullable = (type: string): Json => ({ type: [type, 'null'] });

export function listPaths({ op, obj, query }: OpenApiHelpers): Record<string, Json> {
  const name: Json = { name: 'name', in: 'path', required: true, schema: str };
  const list = obj({
    name: str,
    kind: { type: 'string', enum: ['ip', 'api_key', 'user', 'tenant', 'user_agent'] },
    action: { type: ['string', 'null'], enum: ['allow', 'block', null] },
    class: nullable('string'),
    file: nullable('string'),
    file_error: { oneOf: [{ type: 'null' }, obj({ time: str, message: str })] },
    size: int,
    version: int,
    shared_version: {
      ...nullable('integer'),
      description: 'With Redis: the version of its runtime changes, equal on every replica.',
    },
    added: int,
    removed: int,
  });
  const change = (verb: 'added' | 'removed'): Json =>
    obj({ list: str, version: int, [verb]: { type: 'array', items: str }, size: int, audit_id: int });
  const body: Json = {
    required: true,
    content: {
      'application/json': {
        schema: obj({ entries: { type: 'array', items: str, minItems: 1, maxItems: 10000 }, reason: str }, [
          'entries',
        ]),
      },
    },
  };
  return {
    '/api/lists': {
      get: op(
        'The named lists of the policy set: kind, action, class, file, size, version. Without POLICY_FILE: policy_set false and no lists.',
        'viewer',
        {
          type: 'object',
          properties: { policy_set: { type: 'boolean' }, lists: { type: 'array', items: list } },
        },
      ),
    },
    '/api/lists/{name}': {
      get: op(
        "One list and a page of its entries in force (canonical form): its file's and the policy set's first, then the `added` runtime additions; 404 for no such list.",
        'viewer',
        list,
        {
          parameters: [
            name,
            query('offset', 'First entry returned (default 0).', int),
            query('limit', 'Most entries returned (default 1000, at most 10000).', int),
          ],
        },
      ),
    },
    '/api/lists/{name}/entries': {
      post: op(
        'Add entries at runtime (a new list version; audited). With Redis, on every replica; 503 when Redis cannot take it.',
        'operator',
        change('added'),
        {
          parameters: [name],
          requestBody: body,
        },
      ),
      delete: op(
        'Remove entries at runtime, file entries too (a new list version; audited). With Redis, on every replica; 503 when Redis cannot take it.',
        'operator',
        change('removed'),
        { parameters: [name], requestBody: body },
      ),
    },
  };
}
