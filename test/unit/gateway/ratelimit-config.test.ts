// envoyproxy/ratelimit's descriptor YAML as users write it: what loads, what is refused (and how the error
// reads), and which limit a request descriptor gets — including wildcards, defaults, depth and replaces.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError } from '../../../src/lib/config-error.js';
import { findLimit, parseRateLimitConfig } from '../../../src/gateway/ratelimit-config/index.js';
import { secondsUntilReset, windowStartSeconds } from '../../../src/gateway/ratelimit/fixed-window.js';

const parse = (text: string) => parseRateLimitConfig([{ name: 'config.yaml', text }]);

const EXAMPLE = `
domain: mongo_cps
descriptors:
  - key: database
    value: users
    rate_limit:
      unit: second
      requests_per_unit: 500
  - key: database
    value: default
    rate_limit:
      unit: second
      requests_per_unit: 500
  - key: remote_address
    rate_limit:
      unit: minute
      requests_per_unit: 10
    detailed_metric: true
  - key: path
    value: /api/*
    rate_limit: {unit: hour, requests_per_unit: 3}
  - key: tenant
    descriptors:
      - key: plan
        value: free
        shadow_mode: true
        rate_limit: {unit: day, requests_per_unit: 100, name: free}
      - key: plan
        value: vip
        rate_limit: {unlimited: true}
`;

describe('loading descriptor files', () => {
  it('loads the example with units, names, shadow mode and unlimited', () => {
    const config = parse(EXAMPLE);
    expect([...config.domains.keys()]).toEqual(['mongo_cps']);
    const users = findLimit(config, 'mongo_cps', [{ key: 'database', value: 'users' }]);
    expect(users?.limit).toMatchObject({
      requestsPerUnit: 500,
      unit: 1,
      fullKey: 'mongo_cps.database_users',
    });
    const free = findLimit(config, 'mongo_cps', [
      { key: 'tenant', value: 'a' },
      { key: 'plan', value: 'free' },
    ]);
    expect(free?.limit).toMatchObject({ unit: 4, shadowMode: true, name: 'free' });
    const vip = findLimit(config, 'mongo_cps', [
      { key: 'tenant', value: 'a' },
      { key: 'plan', value: 'vip' },
    ]);
    expect(vip?.limit.unlimited).toBe(true);
  });

  it.each([
    [
      'domain: x\ndescriptors:\n  - key: a\n    rate_limit: {unit: fortnight, requests_per_unit: 1}\n',
      "invalid rate limit unit 'fortnight'",
    ],
    [
      'domain: x\ndescriptors:\n  - key: a\n    rate_limit: {unit: second, requests_per_unit: -1}\n',
      'requests_per_unit',
    ],
    [
      'domain: x\ndescriptors:\n  - key: a\n    rate_limit: {unlimited: true, unit: second}\n',
      'should not specify rate limit unit when unlimited',
    ],
    ['domain: x\ndescriptors:\n  - key: a\n  - key: a\n', "duplicate descriptor composite key 'x.a'"],
    ['domain: x\ndescriptors:\n  - value: b\n', 'descriptor has empty key'],
    ['descriptors: []\n', 'config file cannot have empty domain'],
    ['domain: x\ndescriptors:\n  - key: a\n    ratelimit: {unit: second}\n', "unknown key 'ratelimit'"],
    [
      'domain: x\ndescriptors:\n  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1, name: n, replaces: [{name: n}]}\n',
      'replaces should not contain name of same descriptor',
    ],
  ])('refuses %j with a message naming the problem', (text, message) => {
    expect(() => parse(text)).toThrow(ConfigError);
    expect(() => parse(text)).toThrow(message);
  });

  it('names the file and the path of the bad value', () => {
    expect(() =>
      parse(
        'domain: x\ndescriptors:\n  - key: a\n    descriptors:\n      - key: b\n        rate_limit: {unit: week}\n',
      ),
    ).toThrow('config.yaml: descriptors[0].descriptors[0].rate_limit.unit');
  });

  it('refuses the same domain in two files', () => {
    expect(() =>
      parseRateLimitConfig([
        { name: 'a.yaml', text: 'domain: d\n' },
        { name: 'b.yaml', text: 'domain: d\n' },
      ]),
    ).toThrow("b.yaml: domain: duplicate domain 'd' in config file");
  });

  it('keeps values as written (no YAML number conversion)', () => {
    const config = parse(
      'domain: d\ndescriptors:\n  - key: code\n    value: 010\n    rate_limit: {unit: second, requests_per_unit: 1}\n',
    );
    expect(findLimit(config, 'd', [{ key: 'code', value: '010' }])).toBeDefined();
    expect(findLimit(config, 'd', [{ key: 'code', value: '10' }])).toBeUndefined();
  });

  it('never throws anything but ConfigError, whatever the YAML holds (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        try {
          parse(stringify(value));
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('matching a request descriptor', () => {
  const config = parse(EXAMPLE);

  it('falls back from key_value to the key alone, and labels detailed metrics with the value', () => {
    const match = findLimit(config, 'mongo_cps', [{ key: 'remote_address', value: '10.0.0.1' }]);
    expect(match?.limit.requestsPerUnit).toBe(10);
    expect(match?.metricKey).toBe('mongo_cps.remote_address_10.0.0.1');
  });

  it('matches a trailing * as a prefix of key_value', () => {
    expect(findLimit(config, 'mongo_cps', [{ key: 'path', value: '/api/v1/push' }])?.limit.unit).toBe(3);
    expect(findLimit(config, 'mongo_cps', [{ key: 'path', value: '/other' }])).toBeUndefined();
  });

  it('applies a limit only at the depth of the request descriptor', () => {
    // More entries than the config has levels: no limit.
    expect(
      findLimit(config, 'mongo_cps', [
        { key: 'database', value: 'users' },
        { key: 'extra', value: 'x' },
      ]),
    ).toBeUndefined();
    // Fewer: the parent has no limit of its own.
    expect(findLimit(config, 'mongo_cps', [{ key: 'tenant', value: 'a' }])).toBeUndefined();
  });

  it('knows nothing of an unknown domain', () => {
    expect(findLimit(config, 'other', [{ key: 'database', value: 'users' }])).toBeUndefined();
  });

  it('finds the limit at the end of any exact key/value path through a generated tree (property)', () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const value = fc.constantFrom('x', 'y', 'z');
    type Node = { key: string; value: string; rpu: number | null; children: Node[] };
    const node: fc.Memo<Node> = fc.memo((depth) =>
      fc.record({
        key,
        value,
        rpu: fc.option(fc.integer({ min: 0, max: 1000 })),
        children: depth > 1 ? fc.array(node(depth - 1), { maxLength: 3 }) : fc.constant([]),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(node(3), { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        (roots, picks) => {
          const dedupe = (nodes: Node[]): Node[] => {
            const seen = new Set<string>();
            return nodes.filter((n) => !seen.has(n.key + n.value) && seen.add(n.key + n.value));
          };
          const toYaml = (nodes: Node[]): unknown[] =>
            dedupe(nodes).map((n) => ({
              key: n.key,
              value: n.value,
              ...(n.rpu !== null ? { rate_limit: { unit: 'second', requests_per_unit: n.rpu } } : {}),
              ...(n.children.length ? { descriptors: toYaml(n.children) } : {}),
            }));
          const cfg = parse(stringify({ domain: 'd', descriptors: toYaml(roots) }));
          let level = dedupe(roots);
          const entries: { key: string; value: string }[] = [];
          let last: Node | undefined;
          for (const p of picks) {
            if (level.length === 0) break;
            last = level[p % level.length]!;
            entries.push({ key: last.key, value: last.value });
            level = dedupe(last.children);
          }
          if (!last) return;
          const found = findLimit(cfg, 'd', entries);
          if (last.rpu === null) expect(found).toBeUndefined();
          else expect(found?.limit.requestsPerUnit).toBe(last.rpu);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('fixed windows', () => {
  it('contain now and reset at the next multiple of the unit (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.constantFrom(1, 60, 3600, 86_400, 2_592_000, 31_536_000),
        (nowMs, unit) => {
          const start = windowStartSeconds(nowMs, unit);
          const reset = secondsUntilReset(nowMs, unit);
          const now = Math.floor(nowMs / 1000);
          expect(start % unit).toBe(0);
          expect(start).toBeLessThanOrEqual(now);
          expect(now).toBeLessThan(start + unit);
          expect(reset).toBeGreaterThanOrEqual(1);
          expect(start + unit - now).toBe(reset);
        },
      ),
    );
  });
});

describe('the shipped example (deploy/envoy/ratelimit-config.yaml)', () => {
  it('loads, and names the tenants it documents', async () => {
    const { readRateLimitConfig } = await import('../../../src/gateway/ratelimit-config/index.js');
    const config = readRateLimitConfig(
      new URL('../../../deploy/envoy/ratelimit-config.yaml', import.meta.url).pathname,
    );
    const of = (tenant: string) =>
      findLimit(config, 'mimir_remote_write', [{ key: 'X-Scope-OrgID', value: tenant }]);
    expect(of('batch-jobs')?.limit).toMatchObject({ unit: 2, requestsPerUnit: 600 });
    expect(of('trial-42')?.limit.shadowMode).toBe(true);
    expect(of('platform')?.limit.unlimited).toBe(true);
    expect(of('team-a')).toBeUndefined();
  });
});
