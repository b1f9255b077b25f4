// Country and ASN rules as a user writes them: codes checked with their paths, block and allow lists by
// country or ASN, policies that throttle what they match, per-country and per-ASN counters, and lookups made
// only for what the set names. Databases are written by the test (test/helpers/mmdb-writer.ts).

import { describe, expect, it } from 'vitest';
import type { GeoResolver, RequestContext } from '../../../../src/index.js';
import { GeoIpDatabases, loadPolicySet, PolicyEngine, PolicySetError } from '../../../../src/index.js';
import { COUNTRY_CODES } from '../../../../src/lib/geo/geo-codes.js';
import { asnRecord, countryRecord, writeMmdb } from '../../../helpers/mmdb-writer.js';

const T0 = Date.parse('2025-06-01T12:00:00Z');

// 198.51.100.0/24 is in CN (AS64496), 203.0.113.0/24 in RU (AS64497), 192.0.2.0/24 in US (AS64498).
const GEO = new GeoIpDatabases({
  countryDatabase: writeMmdb(
    [
      { network: '198.51.100.0/24', data: countryRecord('CN') },
      { network: '203.0.113.0/24', data: countryRecord('RU') },
      { network: '192.0.2.0/24', data: countryRecord('US') },
      { network: '2001:db8::/32', data: countryRecord('CN') },
    ],
    { databaseType: 'GeoLite2-Country' },
  ),
  asnDatabase: writeMmdb(
    [
      { network: '198.51.100.0/24', data: asnRecord(64496) },
      { network: '203.0.113.0/24', data: asnRecord(64497) },
      { network: '192.0.2.0/24', data: asnRecord(64498) },
    ],
    { databaseType: 'GeoLite2-ASN' },
  ),
  reloadIntervalMs: 0,
});

function engine(yaml: string, geo: GeoResolver = GEO): PolicyEngine {
  const e = new PolicyEngine(loadPolicySet(yaml));
  e.useGeo(geo);
  return e;
}

function problems(yaml: string): string[] {
  try {
    loadPolicySet(yaml);
  } catch (err) {
    if (err instanceof PolicySetError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

function allowedCount(e: PolicyEngine, ctx: () => RequestContext, n: number): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (e.evaluate(ctx(), T0).allowed) allowed++;
  return allowed;
}

describe('country and ASN codes in a policy set', () => {
  it('names each bad code by its path, and suggests GB for UK', () => {
    expect(
      problems(`
block: { countries: [CN, UK, ZZ], asns: [0, "AS-1", 4294967295, 1.5] }
policies:
  - name: p
    match: { countries: [china] }
    limit: unlimited
`),
    ).toEqual([
      'block.countries[1]: "UK" is not an ISO 3166-1 alpha-2 code; did you mean "GB"?',
      'block.countries[2]: "ZZ" is not an ISO 3166-1 alpha-2 country code (two letters, e.g. "CN", "RU")',
      'block.asns[0]: 0 is not an autonomous system number (a whole number from 1 to 4294967294, e.g. 64496 or "AS64496")',
      'block.asns[1]: "AS-1" is not an autonomous system number (a whole number from 1 to 4294967294, e.g. 64496 or "AS64496")',
      'block.asns[2]: 4294967295 is not an autonomous system number (a whole number from 1 to 4294967294, e.g. 64496 or "AS64496")',
      'block.asns[3]: 1.5 is not an autonomous system number (a whole number from 1 to 4294967294, e.g. 64496 or "AS64496")',
      'policies[0].match.countries[0]: "china" is not an ISO 3166-1 alpha-2 country code (two letters, e.g. "CN", "RU")',
    ]);
  });

  it('knows the 249 assigned ISO 3166-1 alpha-2 codes and XK (Kosovo in MaxMind databases)', () => {
    expect(COUNTRY_CODES.size).toBe(250);
    for (const code of ['CN', 'RU', 'US', 'GB', 'XK', 'SS', 'CW']) expect(COUNTRY_CODES.has(code)).toBe(true);
    for (const code of ['UK', 'EU', 'ZZ', 'AN']) expect(COUNTRY_CODES.has(code)).toBe(false);
  });

  it('accepts lower-case codes and "AS" numbers', () => {
    const set = loadPolicySet(`
block: { countries: [cn], asns: ["AS64497", "as64498"] }
policies: []
`);
    expect([...set.geo!.countries]).toEqual(['CN']);
    expect([...set.geo!.asns]).toEqual([64497, 64498]);
    expect(loadPolicySet('policies: []').geo).toBeUndefined();
  });
});

describe('country and ASN rules', () => {
  it('blocks listed countries and ASNs (IPv4 and IPv6) with 403, before any allow list', () => {
    const e = engine(`
block: { countries: [CN], asns: [64497] }
allow: { countries: [US, RU] }
policies:
  - name: everyone
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
`);
    expect(e.evaluate({ ip: '198.51.100.7' }, T0).outcome).toBe('blocked');
    expect(e.evaluate({ ip: '2001:db8::7' }, T0).outcome).toBe('blocked');
    // RU is allow-listed, but its AS64497 is blocked: the block list wins.
    expect(e.evaluate({ ip: '203.0.113.7' }, T0).outcome).toBe('blocked');
    // US is allow-listed: no policy counts it.
    expect(allowedCount(e, () => ({ ip: '192.0.2.7' }), 3)).toBe(3);
    expect(e.evaluate({ ip: '192.0.2.7' }, T0).outcome).toBe('allow_listed');
    // Not in the databases: neither list, so the policy decides.
    expect(allowedCount(e, () => ({ ip: '100.64.0.1' }), 3)).toBe(1);
  });

  it('throttles matched countries or ASNs with the policy limit, and leaves others alone', () => {
    const e = engine(`
policies:
  - name: cn-ru-per-ip
    match: { scope: ip, countries: [CN, RU] }
    limit: { algorithm: fixed_window, limit: 2, window: 1m }
  - name: as64498-total
    match: { asns: [AS64498] }
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
`);
    expect(allowedCount(e, () => ({ ip: '198.51.100.1' }), 5)).toBe(2);
    expect(allowedCount(e, () => ({ ip: '198.51.100.2' }), 5)).toBe(2);
    expect(allowedCount(e, () => ({ ip: '203.0.113.1' }), 5)).toBe(2);
    // AS64498 shares one counter (global scope) across its addresses.
    expect(allowedCount(e, () => ({ ip: '192.0.2.1' }), 2)).toBe(1);
    expect(allowedCount(e, () => ({ ip: '192.0.2.2' }), 2)).toBe(0);
    expect(e.evaluate({ ip: '100.64.0.1' }, T0).outcome).toBe('no_policy');
  });

  it('keeps one counter per country or per ASN with scope country / asn', () => {
    const e = engine(`
policies:
  - name: per-country
    match: { scope: country, countries: [CN, RU, US] }
    limit: { algorithm: fixed_window, limit: 2, window: 1m }
  - name: per-asn
    match: { scope: asn }
    limit: { algorithm: fixed_window, limit: 100, window: 1m }
`);
    let n = 0;
    expect(allowedCount(e, () => ({ ip: `198.51.100.${++n}` }), 5)).toBe(2);
    expect(allowedCount(e, () => ({ ip: `203.0.113.${++n}` }), 5)).toBe(2);
    const r = e.evaluate({ ip: '192.0.2.1' }, T0).results.map((x) => [x.policy, x.key]);
    expect(r).toEqual([
      ['per-country', 'US'],
      ['per-asn', 'AS64498'],
    ]);
    // Outside the databases: no country and no ASN, so neither counts it.
    expect(e.evaluate({ ip: '100.64.0.1' }, T0).results).toEqual([]);
  });

  it('puts {country} and {asn} in custom keys, looked up for the template alone', () => {
    const e = engine(`
policies:
  - name: tenant-country
    match: { scope: custom, key: "{tenant}/{country}/{asn}" }
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
`);
    expect(e.evaluate({ ip: '198.51.100.1', tenant: 't' }, T0).results[0]!.key).toBe('t/CN/AS64496');
    expect(e.evaluate({ ip: '198.51.100.2', tenant: 't' }, T0).allowed).toBe(false);
    expect(e.evaluate({ ip: '203.0.113.1', tenant: 't' }, T0).allowed).toBe(true);
    // Not in the databases: no key, so the policy does not count it.
    expect(e.evaluate({ ip: '100.64.0.1', tenant: 't' }, T0).results).toEqual([]);
  });

  it('looks up only what the set names, and uses a country the caller gave', () => {
    const calls = { country: 0, asn: 0 };
    const spy: GeoResolver = {
      country: (ip) => (calls.country++, GEO.country(ip)),
      asn: (ip) => (calls.asn++, GEO.asn(ip)),
    };
    const plain = engine('policies: [{ name: p, limit: unlimited }]', spy);
    plain.evaluate({ ip: '198.51.100.1' }, T0);
    expect(calls).toEqual({ country: 0, asn: 0 });
    const byCountry = engine('block: { countries: [CN] }\npolicies: []', spy);
    expect(byCountry.evaluate({ ip: '198.51.100.1' }, T0).outcome).toBe('blocked');
    expect(calls).toEqual({ country: 1, asn: 0 });
    expect(byCountry.evaluate({ ip: '198.51.100.1', country: 'US' }, T0).outcome).toBe('no_policy');
    expect(calls).toEqual({ country: 1, asn: 0 });
  });

  it('without a resolver, country rules see only what the context carries', () => {
    const e = new PolicyEngine(loadPolicySet('block: { countries: [CN] }\npolicies: []'));
    expect(e.evaluate({ ip: '198.51.100.1' }, T0).outcome).toBe('no_policy');
    expect(e.evaluate({ ip: '198.51.100.1', country: 'CN' }, T0).outcome).toBe('blocked');
  });
});
