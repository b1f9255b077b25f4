// What a compiled policy applies to and what it counts by: a request context → match test, and the
// scope (or key template) → counter key. Built once per policy; the returned functions never allocate
// beyond the key string they build.

import { compilePathPattern } from './endpoint-pattern.js';
import { IpMatcher } from './ip-match.js';
import type { KeyTemplate } from './key-template.js';
import { compileKeyTemplate, headerValue } from './key-template.js';
import type { PolicyInput, Scope } from './policy-schema.js';
import type { RequestContext } from './request-context.js';

export function compileKey(
  scope: Scope,
  template: string | undefined,
): (ctx: RequestContext) => string | undefined {
  switch (scope) {
    case 'ip':
      return (ctx) => ctx.ipKey ?? ctx.ip;
    case 'user':
      // No verified user: count by address instead, in a separate key space.
      return (ctx) =>
        ctx.user !== undefined
          ? `u:${ctx.user}`
          : ctx.ip !== undefined
            ? `ip:${ctx.ipKey ?? ctx.ip}`
            : undefined;
    case 'api_key':
      return (ctx) => ctx.apiKey;
    case 'tenant':
      return (ctx) => ctx.tenant;
    case 'global':
      return () => '*';
    case 'country':
      return (ctx) => ctx.country;
    case 'asn':
      return (ctx) => (ctx.asn === undefined ? undefined : `AS${ctx.asn}`);
    case 'custom': {
      const keyOf: KeyTemplate = compileKeyTemplate(template!);
      return keyOf;
    }
  }
}

function valueMatches(expected: string | string[], actual: string | undefined): boolean {
  if (actual === undefined) return false;
  if (Array.isArray(expected)) return expected.includes(actual) || expected.includes('*');
  return expected === '*' || expected === actual;
}

export function compileMatch(match: NonNullable<PolicyInput['match']>): (ctx: RequestContext) => boolean {
  const tests: ((ctx: RequestContext) => boolean)[] = [];
  if (match.path !== undefined) {
    const re = compilePathPattern(match.path);
    tests.push((ctx) => ctx.path !== undefined && re.test(ctx.path));
  }
  if (match.methods !== undefined) {
    const methods = new Set(match.methods.map((m) => m.toUpperCase()));
    tests.push((ctx) => ctx.method !== undefined && methods.has(ctx.method.toUpperCase()));
  }
  for (const [name, expected] of Object.entries(match.headers ?? {})) {
    const lower = name.toLowerCase();
    tests.push((ctx) => valueMatches(expected, headerValue(ctx, lower)));
  }
  for (const [key, expected] of Object.entries(match.descriptors ?? {})) {
    tests.push((ctx) => valueMatches(expected, ctx.descriptors?.[key]));
  }
  if (match.ips !== undefined) {
    const ips = new IpMatcher(match.ips);
    tests.push((ctx) => ips.has(ctx.ip));
  }
  const inSet = (values: string[] | undefined, get: (ctx: RequestContext) => string | undefined): void => {
    if (values === undefined) return;
    const set = new Set(values);
    tests.push((ctx) => {
      const v = get(ctx);
      return v !== undefined && set.has(v);
    });
  };
  inSet(match.users, (ctx) => ctx.user);
  inSet(match.api_keys, (ctx) => ctx.apiKey);
  inSet(match.tenants, (ctx) => ctx.tenant);
  inSet(match.countries, (ctx) => ctx.country);
  if (match.asns !== undefined) {
    const asns = new Set(match.asns);
    tests.push((ctx) => ctx.asn !== undefined && asns.has(ctx.asn));
  }
  return (ctx) => {
    for (const t of tests) if (!t(ctx)) return false;
    return true;
  };
}
