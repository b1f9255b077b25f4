// The geography metrics stay bounded whatever the traffic: only countries and ASNs a rule names get a label
// value of their own; every other client is <other>, and one the database does not place <unknown>.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GeoRequestCounter, OTHER_LABEL, UNKNOWN_LABEL } from '../../../src/decide/policy-geo.js';
import { COUNTRY_CODES } from '../../../src/lib/geo/geo-codes.js';
import type { PolicyEvaluation } from '../../../src/lib/policy/policy-engine.js';
import { loadPolicySet } from '../../../src/lib/policy/policy-set.js';
import { EdgeMetrics } from '../../../src/observe/metrics.js';

const rules = loadPolicySet(`
block: { countries: [RU], asns: [64497] }
policies:
  - name: cn
    match: { countries: [CN] }
    limit: unlimited
`).geo!;

function evaluation(outcome: PolicyEvaluation['outcome'], allowed: boolean): PolicyEvaluation {
  return { allowed, outcome, decision: undefined, results: [], shadowDenied: [], held: [] };
}

describe('GeoRequestCounter', () => {
  it('labels only named countries and ASNs, for any mix of clients', async () => {
    const codes = [...COUNTRY_CODES];
    const client = fc.record({
      country: fc.option(fc.constantFrom(...codes), { nil: undefined }),
      asn: fc.option(fc.integer({ min: 1, max: 4_294_967_294 }), { nil: undefined }),
      outcome: fc.constantFrom(
        'allowed',
        'rate_limited',
        'blocked',
        'allow_listed',
        'no_policy',
      ) as fc.Arbitrary<PolicyEvaluation['outcome']>,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(client, { maxLength: 300 }), async (clients) => {
        const metrics = new EdgeMetrics(false);
        const counter = new GeoRequestCounter(metrics);
        for (const c of clients) {
          const ctx = {
            ip: '192.0.2.1',
            ...(c.country ? { country: c.country } : {}),
            ...(c.asn ? { asn: c.asn } : {}),
          };
          counter.record(
            rules,
            evaluation(c.outcome, c.outcome !== 'rate_limited' && c.outcome !== 'blocked'),
            ctx,
          );
        }
        const countries = (await metrics.geoRequests.get()).values.map((v) => String(v.labels.country));
        const asns = (await metrics.geoAsnRequests.get()).values.map((v) => String(v.labels.asn));
        for (const c of countries) expect(['CN', 'RU', OTHER_LABEL, UNKNOWN_LABEL]).toContain(c);
        for (const a of asns) expect(['64497', OTHER_LABEL, UNKNOWN_LABEL]).toContain(a);
        // Every request is counted once in each family.
        const total = async (m: typeof metrics.geoRequests | typeof metrics.geoAsnRequests) =>
          (await m.get()).values.reduce((sum, v) => sum + v.value, 0);
        expect(await total(metrics.geoRequests)).toBe(clients.length);
        expect(await total(metrics.geoAsnRequests)).toBe(clients.length);
      }),
      { numRuns: 50 },
    );
  });

  it('counts the decision: blocked, rate_limited, or allowed (allow-listed and unmatched included)', async () => {
    const metrics = new EdgeMetrics(false);
    const counter = new GeoRequestCounter(metrics);
    counter.record(rules, evaluation('blocked', false), { country: 'RU', asn: 64497 });
    counter.record(rules, evaluation('rate_limited', false), { country: 'CN' });
    counter.record(rules, evaluation('allow_listed', true), { country: 'US' });
    const seen = (await metrics.geoRequests.get()).values.map((v) => [
      v.labels.country,
      v.labels.decision,
      v.value,
    ]);
    expect(seen).toEqual([
      ['RU', 'blocked', 1],
      ['CN', 'rate_limited', 1],
      [OTHER_LABEL, 'allowed', 1],
    ]);
  });
});
