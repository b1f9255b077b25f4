// Policies as a user writes them (YAML): scopes, most-restrictive-wins, shadow mode, effective dates,
// tiers, allow/block lists with IPv4/IPv6 ranges, and the global → tenant → user hierarchy.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPolicySet, PolicyEngine, PolicySetError } from '../../../../src/index.js';
import type { RequestContext } from '../../../../src/index.js';

const T0 = Date.parse('2025-06-01T12:00:00Z');

function engine(yaml: string): PolicyEngine {
  return new PolicyEngine(loadPolicySet(yaml));
}

function allowedCount(e: PolicyEngine, ctx: RequestContext, n: number, at = T0): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (e.evaluate(ctx, at).allowed) allowed++;
  return allowed;
}

describe('policy evaluation', () => {
  it('keeps one counter per IP for an ip-scoped policy', () => {
    const e = engine(`
policies:
  - name: per-ip
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 3, window: 1m }
`);
    expect(allowedCount(e, { ip: '192.0.2.1' }, 5)).toBe(3);
    expect(allowedCount(e, { ip: '192.0.2.2' }, 5)).toBe(3);
  });

  it('the most restrictive policy decides, is named, and a denial costs the other policies nothing', () => {
    const e = engine(`
policies:
  - name: per-user-minute
    match: { scope: user }
    limit: { algorithm: fixed_window, limit: 5, window: 1m }
  - name: per-user-second
    match: { scope: user }
    limit: { algorithm: token_bucket, rate: 1, burst: 2 }
`);
    const ctx = { user: 'alice', ip: '192.0.2.1' };
    expect(e.evaluate(ctx, T0).allowed).toBe(true);
    expect(e.evaluate(ctx, T0).allowed).toBe(true);
    const denied = e.evaluate(ctx, T0);
    expect(denied.allowed).toBe(false);
    expect(denied.outcome).toBe('rate_limited');
    expect(denied.decision?.policy).toBe('per-user-second');
    // The minute window only counted the two allowed requests.
    const minute = denied.results.find((r) => r.policy === 'per-user-minute')!;
    expect(minute.decision?.remaining).toBe(3);
    // When several deny, the longest wait is reported.
    for (let i = 1; i <= 3; i++) e.evaluate(ctx, T0 + i * 1000);
    const both = e.evaluate(ctx, T0 + 3000);
    expect(both.decision?.policy).toBe('per-user-minute');
  });

  it('counts a user without a verified identity by IP, apart from user names', () => {
    const e = engine(`
policies:
  - name: per-user
    match: { scope: user }
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
`);
    expect(e.evaluate({ ip: '10.0.0.1' }, T0).results[0]!.key).toBe('ip:10.0.0.1');
    expect(e.evaluate({ user: '10.0.0.1', ip: '10.0.0.1' }, T0).allowed).toBe(true);
  });

  it('matches endpoint patterns and methods, headers and descriptors', () => {
    const e = engine(`
policies:
  - name: writes
    match: { scope: global, path: /api/v1/**, methods: [POST, PUT], headers: { x-plan: [free, trial] }, descriptors: { region: "*" } }
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
`);
    const hit: RequestContext = {
      method: 'POST',
      path: '/api/v1/orders/7',
      headers: { 'x-plan': 'free' },
      descriptors: { region: 'eu' },
    };
    expect(e.evaluate(hit, T0).outcome).toBe('allowed');
    expect(e.evaluate({ ...hit, method: 'GET' }, T0).outcome).toBe('no_policy');
    expect(e.evaluate({ ...hit, path: '/api/v2/orders' }, T0).outcome).toBe('no_policy');
    expect(e.evaluate({ ...hit, headers: { 'x-plan': 'pro' } }, T0).outcome).toBe('no_policy');
    expect(e.evaluate({ ...hit, descriptors: {} }, T0).outcome).toBe('no_policy');
    expect(e.evaluate(hit, T0).allowed).toBe(false);
  });

  it('keys a custom-scope policy by its template and skips requests missing a value', () => {
    const e = engine(`
policies:
  - name: per-client
    match: { scope: custom, key: "{tenant}/{header.x-client-id}" }
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
`);
    const r = e.evaluate({ tenant: 'acme', headers: { 'x-client-id': 'c1' } }, T0);
    expect(r.results[0]!.key).toBe('acme/c1');
    expect(e.evaluate({ tenant: 'acme' }, T0).outcome).toBe('no_policy');
  });

  it('shadow policies report what they would deny but never deny', () => {
    const e = engine(`
policies:
  - name: trial-limit
    shadow: true
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
`);
    e.evaluate({ ip: '192.0.2.9' }, T0);
    const second = e.evaluate({ ip: '192.0.2.9' }, T0);
    expect(second.allowed).toBe(true);
    expect(second.shadowDenied).toEqual(['trial-limit']);
  });

  it('gives back concurrency units on release, shadow policies included', () => {
    const e = engine(`
policies:
  - { name: enforced, match: { scope: global }, limit: { algorithm: concurrency, limit: 1 } }
  - { name: observed, shadow: true, match: { scope: global }, limit: { algorithm: concurrency, limit: 1 } }
`);
    for (let i = 0; i < 5; i++) {
      const first = e.evaluate({}, T0 + i);
      expect(first.allowed).toBe(true);
      expect(first.shadowDenied).toEqual([]);
      const second = e.evaluate({}, T0 + i);
      expect(second.allowed).toBe(false);
      expect(second.decision?.policy).toBe('enforced');
      e.release(first, T0 + i);
    }
  });

  it('applies a policy only between effective_from and effective_until', () => {
    const e = engine(`
policies:
  - name: sale
    effective_from: 2025-06-01T00:00:00Z
    effective_until: 2025-06-02T00:00:00Z
    limit: { algorithm: fixed_window, limit: 1, window: 1h }
`);
    expect(e.evaluate({}, Date.parse('2025-05-31T23:59:59Z')).outcome).toBe('no_policy');
    expect(e.evaluate({}, T0).outcome).toBe('allowed');
    expect(e.evaluate({}, Date.parse('2025-06-02T00:00:00Z')).outcome).toBe('no_policy');
  });

  it('applies tiered policies by the caller’s tier, with unlimited allowed', () => {
    const e = engine(`
tiers: [free, pro, enterprise]
policies:
  - { name: free, tier: free, match: { scope: user }, limit: { algorithm: fixed_window, limit: 2, window: 1h } }
  - { name: pro, tier: pro, match: { scope: user }, limit: { algorithm: fixed_window, limit: 5, window: 1h } }
  - { name: enterprise, tier: enterprise, match: { scope: user }, limit: unlimited }
`);
    expect(allowedCount(e, { user: 'f', tier: 'free' }, 10)).toBe(2);
    expect(allowedCount(e, { user: 'p', tier: 'pro' }, 10)).toBe(5);
    expect(allowedCount(e, { user: 'e', tier: 'enterprise' }, 1000)).toBe(1000);
  });

  it('block lists deny and allow lists bypass, by IPv4 and IPv6 range and by identity', () => {
    const e = engine(`
allow: { ips: ["10.0.0.0/8", "2001:db8:1::/48"], users: [ops-bot] }
block: { ips: ["203.0.113.0/24", "2001:db8:bad::/48"], api_keys: [leaked-key] }
policies:
  - { name: tight, match: { scope: ip }, limit: { algorithm: fixed_window, limit: 1, window: 1h } }
`);
    expect(allowedCount(e, { ip: '10.20.30.40' }, 50)).toBe(50);
    expect(allowedCount(e, { ip: '2001:db8:1:ffff::1' }, 50)).toBe(50);
    expect(allowedCount(e, { ip: '::ffff:10.1.1.1' }, 50)).toBe(50);
    expect(allowedCount(e, { ip: '192.0.2.1', user: 'ops-bot' }, 50)).toBe(50);
    expect(e.evaluate({ ip: '203.0.113.7' }, T0).outcome).toBe('blocked');
    expect(e.evaluate({ ip: '2001:db8:bad:1::5' }, T0).outcome).toBe('blocked');
    expect(e.evaluate({ ip: '10.0.0.1', apiKey: 'leaked-key' }, T0).outcome).toBe('blocked');
    expect(allowedCount(e, { ip: '192.0.2.1' }, 5)).toBe(1);
  });

  it('hierarchy: a tenant policy inherits from the global one and replaces it; a user policy replaces both', () => {
    const e = engine(`
policies:
  - name: api
    match: { scope: user, path: /api/** }
    limit: { algorithm: fixed_window, limit: 2, window: 1h }
  - name: api-acme
    extends: api
    match: { tenants: [acme] }
    limit: { algorithm: fixed_window, limit: 4, window: 1h }
  - name: api-acme-bob
    extends: api-acme
    match: { users: [bob] }
    limit: unlimited
`);
    const base = { path: '/api/items' };
    expect(allowedCount(e, { ...base, tenant: 'other', user: 'x' }, 10)).toBe(2);
    expect(allowedCount(e, { ...base, tenant: 'acme', user: 'alice' }, 10)).toBe(4);
    expect(allowedCount(e, { ...base, tenant: 'acme', user: 'bob' }, 100)).toBe(100);
    // Inherited match: the tenant policy still only covers /api/**.
    expect(e.evaluate({ path: '/health', tenant: 'acme', user: 'alice' }, T0).outcome).toBe('no_policy');
  });

  it('allows exactly when every policy has room for it over the requests it allowed before (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { maxLength: 80 }), (gaps) => {
        const e = engine(`
policies:
  - { name: a, match: { scope: user }, limit: { algorithm: fixed_window, limit: 3, window: 1m } }
  - { name: b, match: { scope: user }, limit: { algorithm: sliding_window_log, limit: 5, window: 10s } }
`);
        const admitted: number[] = [];
        let t = T0;
        for (const g of gaps) {
          t += g;
          const inMinute = admitted.filter((x) => Math.floor(x / 60_000) === Math.floor(t / 60_000)).length;
          const inTenSeconds = admitted.filter((x) => x > t - 10_000).length;
          const expected = inMinute < 3 && inTenSeconds < 5;
          expect(e.evaluate({ user: 'u' }, t).allowed).toBe(expected);
          if (expected) admitted.push(t);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('policy-set validation', () => {
  function issues(yaml: string): { path: string; message: string }[] {
    try {
      loadPolicySet(yaml);
    } catch (err) {
      expect(err).toBeInstanceOf(PolicySetError);
      return (err as PolicySetError).issues;
    }
    throw new Error('expected the policy set to be refused');
  }

  it('names the path of every problem at once', () => {
    const found = issues(`
tiers: [free]
allow: { ips: ["10.0.0.0/33"] }
policies:
  - name: a
    match: { scope: ip, ips: ["not-an-ip"] }
    limit: { algorithm: token_bucket, rate: 10, burst: -1 }
  - name: a
    tier: gold
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
  - name: c
    extends: missing
    limit: unlimited
  - name: e
    cost: 1.5
    limit: { algorithm: sliding_window_log, limit: 10, window: 1m }
  - name: f
    cost: 20
    limit: { algorithm: fixed_window, limit: 10, window: 1m }
  - name: d
    effective_from: 2025-02-01T00:00:00Z
    effective_until: 2025-01-01T00:00:00Z
    limit: { algorithm: calendar_quota, limit: 5, period: week }
`);
    const paths = found.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'policies[1].name',
        'policies[0].match.ips[0]',
        'policies[0].limit.burst',
        'policies[1].tier',
        'policies[2].extends',
        'policies[3].cost',
        'policies[4].cost',
        'policies[5].effective_until',
        'policies[5].limit.period',
        'allow.ips[0]',
      ]),
    );
  });

  it('refuses unknown fields and wrong types with their path', () => {
    const found = issues(`
policies:
  - name: a
    priorty: 3
    match: { scope: everyone }
    limit: unlimited
`);
    expect(found.map((i) => i.path)).toEqual(
      expect.arrayContaining(['policies[0]', 'policies[0].match.scope']),
    );
    expect(found.find((i) => i.path === 'policies[0]')!.message).toContain('"priorty"');
  });

  it('refuses inheritance loops and text that is not YAML', () => {
    expect(
      issues(`
policies:
  - { name: a, extends: b, limit: unlimited }
  - { name: b, extends: a, limit: unlimited }
`)[0]!.message,
    ).toContain('must not loop');
    expect(issues('policies: [')[0]!.message).toContain('not valid YAML');
  });
});

describe('request weight', () => {
  const yaml = `
policies:
  - name: bytes-per-user
    match: { scope: user }
    limit: { algorithm: token_bucket, rate: 1, burst: 100 }
  - name: requests-per-user
    match: { scope: user }
    cost: 2
    limit: { algorithm: fixed_window, limit: 1000, window: 1m }
`;

  it('takes each policy’s cost times the request’s weight, and a denial takes nothing', () => {
    const e = engine(yaml);
    const allowed = e.evaluate({ user: 'u', weight: 60 }, T0);
    expect(allowed.allowed).toBe(true);
    const byPolicy = (ev: typeof allowed, name: string) =>
      ev.results.find((r) => r.policy === name)!.decision!;
    expect(byPolicy(allowed, 'bytes-per-user').remaining).toBe(40);
    expect(byPolicy(allowed, 'requests-per-user').remaining).toBe(1000 - 120);
    const denied = e.evaluate({ user: 'u', weight: 41 }, T0);
    expect(denied.allowed).toBe(false);
    expect(denied.decision?.policy).toBe('bytes-per-user');
    expect(e.evaluate({ user: 'u', weight: 40 }, T0).allowed, 'the denied 41 took nothing').toBe(true);
  });

  it('weighs a request 1 without a weight, and 0 takes nothing (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(30), { maxLength: 20 }), (weights) => {
        const e = engine(yaml);
        let taken = 0;
        for (const w of weights) {
          // The clock stands still: the bucket only empties, so a request passes iff its weight still fits.
          const ev = e.evaluate({ user: 'u', weight: w }, T0);
          expect(ev.allowed).toBe(taken + w <= 100);
          if (ev.allowed) taken += w;
        }
        const left = engine(yaml).evaluate({ user: 'u' }, T0).results[0]!.decision!.remaining;
        expect(left).toBe(99);
        expect(taken).toBeLessThanOrEqual(100);
      }),
    );
  });
});
