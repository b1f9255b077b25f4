// The OpenAPI schemas and path of GET /api/agreement (agreement-routes.ts), kept beside openapi.ts so that file
// stays within its size.

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const obj = (properties: Json, required: string[] = []): Json => ({ type: 'object', properties, required });
const int = { type: 'integer' };
const str = { type: 'string' };
const ratio = { type: ['number', 'null'], description: 'agree / all compared; null before any was compared' };
const outcome = { type: 'string', enum: ['agree', 'edge_stricter', 'edge_looser'] };

export const AGREEMENT_SCHEMAS: Json = {
  Disagreement: obj(
    {
      at: str,
      tenant: str,
      outcome: { type: 'string', enum: ['edge_stricter', 'edge_looser'] },
      reason: {
        type: 'string',
        description: 'a catalogue reason, or not_checked (an upstream id the edge does not check)',
      },
      edge: obj({ decision: { type: 'string', enum: ['allow', 'would_deny'] }, reason: str, status: int }),
      upstream: obj({
        status: int,
        error_id: str,
        text: {
          type: 'string',
          description: "the start of the upstream's answer, sanitised, at most 240 characters",
        },
      }),
    },
    ['at', 'tenant', 'outcome', 'reason', 'edge', 'upstream'],
  ),
  TenantAgreement: obj(
    {
      agree: int,
      edge_stricter: int,
      edge_looser: int,
      agreement: ratio,
      by_reason: { type: 'array', items: obj({ outcome, reason: str, count: int }) },
      recent_disagreements: { type: 'array', items: ref('Disagreement') },
    },
    ['agree', 'edge_stricter', 'edge_looser'],
  ),
};

/** `op` is openapi.ts's operation builder (summary, role, response schema). */
export function agreementPath(op: (summary: string, role: string, response: Json) => Json): Json {
  return {
    get: op(
      "Each forwarded write's decision against the upstream's answer, per tenant and reason, with the last disagreements and a sample of the upstream's text.",
      'viewer',
      obj({
        mode: ref('Mode'),
        totals: obj({ agree: int, edge_stricter: int, edge_looser: int, agreement: ratio }),
        tenants: {
          type: 'array',
          items: { allOf: [obj({ tenant: str }, ['tenant']), ref('TenantAgreement')] },
        },
        recent_disagreements: { type: 'array', items: ref('Disagreement') },
      }),
    ),
  };
}
