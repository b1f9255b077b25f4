// The OpenAPI description of /api/blocks (penalty blocks, docs/policies.md#progressive-penalties), kept
// apart from openapi.ts so that file stays within its size; openapi.ts spreads these into its document.

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string): Json => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});

function op(summary: string, role: string, response: Json, extra: Json = {}): Json {
  return {
    summary,
    'x-role': role,
    responses: {
      '200': { description: 'OK', content: { 'application/json': { schema: response } } },
      '400': error('Bad input; nothing changed.'),
      '401': error('Missing or unknown bearer token.'),
      '403': error(`The token's role is below ${role}.`),
      ...(role === 'viewer' ? {} : { '404': error('No block in force has this id (ended or lifted).') }),
    },
    ...extra,
  };
}

const str = { type: 'string' };
const int = { type: 'integer' };

export const blockSchemas: Json = {
  PenaltyBlock: {
    type: 'object',
    description: 'An identity blocked by a policy penalty.',
    properties: {
      id: { ...str, description: 'Opaque id for DELETE /api/blocks/{id}.' },
      policy: str,
      scope: {
        type: ['string', 'null'],
        enum: ['ip', 'user', 'api_key', 'tenant', 'global', 'custom', null],
      },
      identity: { ...str, description: "The policy's key; an API key is masked to its first 4 characters." },
      level: { ...int, minimum: 1, description: 'Rung of the ladder: the block lasts durations[level - 1].' },
      reason: { ...str, example: '5 denials within 1m' },
      started_at: { ...str, format: 'date-time' },
      ends_at: { ...str, format: 'date-time' },
      remaining_seconds: int,
    },
    required: [
      'id',
      'policy',
      'scope',
      'identity',
      'level',
      'reason',
      'started_at',
      'ends_at',
      'remaining_seconds',
    ],
  },
};

export function blockPaths(): Json {
  return {
    '/api/blocks': {
      get: op('Penalty blocks in force (POLICY_FILE), soonest end first.', 'viewer', {
        type: 'object',
        properties: {
          penalties: {
            type: 'boolean',
            description: 'False without POLICY_FILE (then there are no blocks).',
          },
          blocks: { type: 'array', items: ref('PenaltyBlock') },
        },
        required: ['penalties', 'blocks'],
      }),
    },
    '/api/blocks/{id}': {
      delete: op(
        'Lift a penalty block: the identity is free at once and its offence level is forgotten; audited.',
        'operator',
        {
          type: 'object',
          properties: { audit_id: int, lifted: ref('PenaltyBlock') },
          required: ['audit_id', 'lifted'],
        },
        {
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { ...str, pattern: '^[A-Za-z0-9_-]{22}$' } },
          ],
          requestBody: {
            required: false,
            content: { 'application/json': { schema: { type: 'object', properties: { reason: str } } } },
          },
        },
      ),
    },
  };
}
