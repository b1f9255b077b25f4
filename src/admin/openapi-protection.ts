// The OpenAPI description of /api/protection (adaptive protection, docs/protection.md), kept apart from
// openapi.ts so that file stays within its size; openapi.ts spreads these into its document.

type Json = Record<string, unknown>;

const int = { type: 'integer' };
const num = { type: 'number' };
const str = { type: 'string' };
const mode = { type: 'string', enum: ['off', 'observe', 'enforce'] };
const obj = (properties: Json, required: string[] = []): Json => ({ type: 'object', properties, required });

export const PROTECTION_SCHEMA: Json = obj({
  mode,
  mode_changed_at: str,
  ceiling: { ...int, description: 'The adaptive ceiling on writes in flight to the upstream.' },
  min_ceiling: int,
  max_ceiling: int,
  inflight: int,
  latency_target_ms: num,
  window_ms: num,
  last_reason: { type: 'string', enum: ['start', 'latency', 'errors', 'stalled', 'healthy', 'idle'] },
  last_change_at: str,
  samples: obj({ ceiling: int, per_second: int, max: int }),
  routes: {
    type: 'object',
    description: 'The last window per route: write (moves the ceiling) and other (watched only).',
    additionalProperties: obj({ p99_ms: num, error_ratio: num, answers: int }),
  },
  priorities: {
    type: 'array',
    items: obj({ priority: int, share: num, admitted_below: int, shed: int, would_shed: int }),
  },
  changes: { type: 'object', additionalProperties: int },
  applies_to: str,
});

/** The path entry, built with openapi.ts's `op` so its responses and roles read like every other route's. */
export function protectionPaths(
  op: (summary: string, role: string, response: Json, extra?: Json) => Json,
): Json {
  const ref = { $ref: '#/components/schemas/Protection' };
  return {
    '/api/protection': {
      get: op(
        'Adaptive protection of the upstream: mode, ceiling, writes in flight, the last window, sheds by priority.',
        'viewer',
        ref,
      ),
      post: op('Switch adaptive protection (off, observe, enforce) at runtime; audited.', 'operator', ref, {
        requestBody: {
          required: true,
          content: { 'application/json': { schema: obj({ mode, reason: str }, ['mode']) } },
        },
      }),
    },
  };
}
