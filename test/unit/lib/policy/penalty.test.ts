// What a user of `penalty` notices: clear errors for a bad ladder, the 403 a blocked client gets (with
// Retry-After at the block's end), buckets left untouched while blocked, blocks kept across a reload,
// lifting, and records forgotten once they say nothing.

import { describe, expect, it } from 'vitest';
import { HttpRateLimiter, loadPolicySet, PolicyEngine, PolicySetError } from '../../../../src/index.js';
import { blockId } from '../../../../src/lib/policy/penalty.js';
import { InProcessPenaltyBox } from '../../../../src/lib/policy/penalty-box.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

const SET = `
policies:
  - name: login
    match: { scope: ip, path: /login }
    limit: { algorithm: fixed_window, limit: 1, window: 1h }
    penalty: { after: 2, window: 1m, durations: [1m, 10m, 1h], decay: 24h }
  - name: per-ip
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 100, window: 1h }
`;

function problems(yaml: string): string[] {
  try {
    loadPolicySet(yaml);
  } catch (err) {
    if (err instanceof PolicySetError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('penalty in the policy file', () => {
  it('names every problem of a bad penalty by its path', () => {
    const found = problems(`
policies:
  - name: a
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
    penalty: { after: 0, window: soon, durations: [10m, 1m], decay: -1, extra: 1 }
  - name: b
    limit: unlimited
    penalty: { after: 3, window: 1m, durations: [] }
`);
    expect(found).toEqual(
      expect.arrayContaining([
        'policies[0].penalty.after: must be at least 1 denial',
        'policies[0].penalty: unknown field(s) "extra"',
        'policies[1].penalty.durations: give at least one block duration, e.g. [1m, 10m, 1h]',
      ]),
    );
    const second = problems(`
policies:
  - name: a
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
    penalty: { after: 1, window: soon, durations: [10m, 1m], decay: -1 }
  - name: b
    limit: unlimited
    penalty: { after: 3, window: 1m, durations: [1m] }
`);
    expect(second).toEqual([
      'policies[0].penalty.window: "soon" is not a duration; use e.g. "30s", "10m", "1h" or a number of ms above 0',
      'policies[0].penalty.durations[1]: must not be shorter than the level before it: a repeat offence never gets a shorter block',
      'policies[0].penalty.decay: -1 is not a duration; use e.g. "30s", "10m", "1h" or a number of ms above 0',
      'policies[1].penalty: an unlimited policy never refuses, so it cannot penalise',
    ]);
  });

  it('ignores the penalty of a shadow policy: shadow never refuses, so it never blocks', () => {
    const e = new PolicyEngine(
      loadPolicySet(`
policies:
  - name: watch
    shadow: true
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 1, window: 1h }
    penalty: { after: 1, window: 1m, durations: [1h] }
`),
    );
    for (let i = 0; i < 5; i++) expect(e.evaluate({ ip: '192.0.2.1' }, T0).allowed).toBe(true);
    expect(e.penalties.activeCount(T0)).toBe(0);
  });
});

describe('a blocked identity', () => {
  it('gets 403 TEMPORARILY_BLOCKED with Retry-After up to the end, on every path, and its buckets are untouched', () => {
    let now = T0;
    const limiter = new HttpRateLimiter({ policies: SET, now: () => now });
    const blocks: string[] = [];
    limiter.engine.onBlock = (b) => blocks.push(`${b.policy} ${b.key} ${b.level}`);
    const ask = (url: string) =>
      limiter.decide({ method: 'POST', path: url, ip: '192.0.2.9', ipKey: '192.0.2.9' }) as ReturnType<
        HttpRateLimiter['verdict']
      >;
    expect(ask('/login').status).toBe(200);
    expect(ask('/login').status).toBe(429);
    expect(blocks).toEqual([]);
    expect(ask('/login').status).toBe(429);
    expect(blocks).toEqual(['login 192.0.2.9 1']);
    const perIpBefore = ask('/other').evaluation; // blocked: never reaches per-ip
    expect(perIpBefore.outcome).toBe('blocked');
    now += 20_000;
    const blocked = ask('/anything');
    expect(blocked.status).toBe(403);
    expect(blocked.headers).toContainEqual(['Retry-After', '40']);
    const body = JSON.parse(blocked.body!) as {
      error: { code: string; message: string; details: Record<string, unknown> };
    };
    expect(body.error.code).toBe('TEMPORARILY_BLOCKED');
    expect(body.error.details).toMatchObject({ policy: 'login', retry_after_seconds: 40 });
    expect(body.error.message).toContain('2 denials within 1m');
    expect(body.error.message).toContain('2026-01-01T00:01:00.000Z');
    // At the end: free, and per-ip counted only the two requests it allowed: refusals and blocked requests cost nothing.
    now = T0 + 60_000;
    const after = ask('/other');
    expect(after.status).toBe(200);
    expect(after.evaluation.results.find((r) => r.policy === 'per-ip')?.decision?.remaining).toBe(98);
  });

  it('keeps its block across a reload, can be lifted (level forgotten), and its record is swept once stale', () => {
    const e = new PolicyEngine(loadPolicySet(SET));
    const ctx = { ip: '192.0.2.10', path: '/login' };
    e.evaluate(ctx, T0);
    e.evaluate(ctx, T0);
    e.evaluate(ctx, T0);
    expect(e.evaluate(ctx, T0).outcome).toBe('blocked');
    e.replace(loadPolicySet(SET));
    expect(e.evaluate(ctx, T0 + 1).outcome).toBe('blocked');
    const [listed] = e.penalties.active(T0 + 1) as { policy: string; key: string; level: number }[];
    expect(listed).toMatchObject({ policy: 'login', key: '192.0.2.10', level: 1 });
    expect(e.penalties.lift('login', '192.0.2.10', T0 + 1)).toBe(true);
    expect(e.penalties.lift('login', '192.0.2.10', T0 + 1)).toBe(false);
    expect(e.evaluate({ ...ctx, path: '/x' }, T0 + 2).allowed).toBe(true);
    // The next offence starts from level 1 again: the lift forgave the record. (A freshly compiled set
    // counts afresh: one request allowed, then two refusals.)
    expect(e.evaluate(ctx, T0 + 3).allowed).toBe(true);
    e.evaluate(ctx, T0 + 3);
    e.evaluate(ctx, T0 + 3);
    expect(e.evaluate(ctx, T0 + 3).block?.level).toBe(1);
  });

  it('forgets records once their window closed and their level decayed, a slice at a time', () => {
    const box = new InProcessPenaltyBox();
    const rule = { after: 3, windowMs: 60_000, durationsMs: [60_000], decayMs: 3_600_000 };
    for (let i = 0; i < 50; i++) box.offend('p', rule, `k${i}`, T0);
    box.offend('p', rule, 'k0', T0);
    box.offend('p', rule, 'k0', T0); // k0 blocked (level 1)
    expect(box.sweep(T0 + 59_000, 1000)).toBe(0);
    expect(box.sweep(T0 + 60_000, 10)).toBe(9); // a slice: 10 seen, k0 kept
    expect(box.sweep(T0 + 60_000, 1000)).toBe(40);
    expect(box.size).toBe(1);
    expect(box.sweep(T0 + 60_000 + 3_600_000, 1000)).toBe(1);
  });

  it('stops tracking new identities at its bound instead of growing without end', () => {
    const box = new InProcessPenaltyBox(3);
    const rule = { after: 1, windowMs: 60_000, durationsMs: [60_000], decayMs: 3_600_000 };
    for (let i = 0; i < 5; i++) box.offend('p', rule, `k${i}`, T0);
    expect(box.size).toBe(3);
    expect(box.activeCount(T0)).toBe(3);
  });
});

describe('block ids', () => {
  it('are URL-safe, one per policy and key, and never show the key', () => {
    const ids = new Set<string>();
    for (const key of ['192.0.2.1', 'u:alice', 'a/b/c', '2001:db8::/64', 'secret-api-key-123']) {
      for (const policy of ['per-ip', 'per-key']) {
        const id = blockId(policy, key);
        expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
        expect(id).toBe(blockId(policy, key));
        expect(Buffer.from(id, 'base64url').toString('latin1')).not.toContain('secret');
        ids.add(id);
      }
    }
    expect(ids.size).toBe(10);
  });
});
