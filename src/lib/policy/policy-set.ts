// A policy set from plain data (a parsed YAML/JSON document) to compiled, ready-to-evaluate policies:
// shape checks (zod), then references, ranges and algorithm parameters, every problem reported with its
// path (e.g. "policies[2].limit.rate"). Never half-loads: any problem and nothing is compiled.

import { parse as parseYaml } from 'yaml';
import type { AlgorithmSpec } from '../engine/algorithm-spec.js';
import { AlgorithmSpecError, createAlgorithm } from '../engine/algorithm-spec.js';
import { RateLimiter } from '../engine/rate-limiter.js';
import type { ListDefinition, ListReadOptions } from '../lists/list-definitions.js';
import { compileLists } from '../lists/list-definitions.js';
import type { GeoRules } from './geo-rules.js';
import { compileGeoRules } from './geo-rules.js';
import { cidrProblem } from './ip-match.js';
import { keyTemplateProblem } from './key-template.js';
import type { PenaltyRule } from './penalty.js';
import { compilePenalty } from './penalty.js';
import { compileKey, compileMatch } from './policy-match.js';
import type { Level, PolicyInput, PolicySetInput, Scope } from './policy-schema.js';
import { policySetSchema } from './policy-schema.js';
import type { RequestContext } from './request-context.js';

export interface PolicyIssue {
  /** Where in the document, e.g. "policies[2].match.ips[0]". */
  path: string;
  message: string;
}

/** A policy set that cannot be loaded; `issues` lists every problem found. */
export class PolicySetError extends Error {
  constructor(readonly issues: PolicyIssue[]) {
    super(
      `invalid policy set:\n${issues.map((i) => `  ${i.path || '(document)'}: ${i.message}`).join('\n')}`,
    );
    this.name = 'PolicySetError';
  }
}

export interface CompiledPolicy {
  readonly name: string;
  /** What the policy counts by (its key's kind): shown with the blocks its penalty sets. */
  readonly scope: Scope;
  readonly level: Level;
  readonly priority: number;
  readonly shadow: boolean;
  readonly tier: string | undefined;
  readonly fromMs: number;
  readonly untilMs: number;
  readonly cost: number;
  /** Undefined for an unlimited policy. */
  readonly limiter: RateLimiter | undefined;
  /** The algorithm as the file gave it (undefined when unlimited): a shared store builds its own from it. */
  readonly spec: AlgorithmSpec | undefined;
  /** Names this policy replaces when it applies (its `extends` ancestors and `overrides`). */
  readonly overrides: ReadonlySet<string>;
  readonly matches: (ctx: RequestContext) => boolean;
  /** The counter key for a request, or undefined when the request lacks what the scope needs. */
  readonly keyOf: (ctx: RequestContext) => string | undefined;
  /** Blocks an identity this policy keeps refusing; undefined without `penalty` (or when disabled or shadow). */
  readonly penalty: PenaltyRule | undefined;
  /** The reputation classes (list effect bits) of `match.class`: 0 for any request, else one must match. */
  readonly classMask: number;
}

export interface CompiledPolicySet {
  readonly policies: readonly CompiledPolicy[];
  /** Allow, block and class lists (the inline `allow`/`block` ones too), with their files' entries. */
  readonly lists: readonly ListDefinition[];
  /** Countries and ASNs the set names, and its country/ASN lists; undefined when it names none. */
  readonly geo?: GeoRules | undefined;
}

export type { ListReadOptions };

const DEFAULT_PRIORITY: Record<Level, number> = { global: 0, tenant: 10, user: 20, endpoint: 30 };

/** Parses YAML or JSON text (JSON is YAML) and compiles it; throws PolicySetError. */
export function loadPolicySet(text: string, options: ListReadOptions = {}): CompiledPolicySet {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PolicySetError([{ path: '', message: `not valid YAML or JSON: ${(err as Error).message}` }]);
  }
  return compilePolicySet(doc, options);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/**
 * Validates and compiles a parsed policy-set document, reading the list files it names (see
 * ListReadOptions); throws PolicySetError listing every problem.
 */
export function compilePolicySet(doc: unknown, options: ListReadOptions = {}): CompiledPolicySet {
  const parsed = policySetSchema.safeParse(doc);
  if (!parsed.success) {
    throw new PolicySetError(
      parsed.error.issues.map((i) => ({
        path: formatPath(i.path),
        message:
          i.code === 'unrecognized_keys'
            ? `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`
            : i.message,
      })),
    );
  }
  const set = parsed.data;
  const issues: PolicyIssue[] = [];
  const byName = new Map<string, number>();
  set.policies.forEach((p, i) => {
    if (byName.has(p.name))
      issues.push({
        path: `policies[${i}].name`,
        message: `"${p.name}" is already the name of policies[${byName.get(p.name)}]`,
      });
    else byName.set(p.name, i);
  });
  const tiers = set.tiers === undefined ? undefined : new Set(set.tiers);
  const resolved = set.policies.map((p, i) => resolveInheritance(set, i, byName, issues));
  const lists = compileLists(set, options, issues);
  const compiled: CompiledPolicy[] = [];
  resolved.forEach((r, i) => {
    if (r === undefined) return;
    const c = compilePolicy(r.policy, r.ancestors, `policies[${i}]`, byName, tiers, issues);
    if (c === undefined) return;
    const classMask = classMaskOf(
      r.policy.match?.class,
      lists.classBits,
      `policies[${i}].match.class`,
      issues,
    );
    compiled.push({ ...c, classMask });
  });
  if (issues.length > 0) throw new PolicySetError(issues);
  // Evaluation order: highest priority first (it wins ties), then file order.
  const order = compiled.map((c, i) => ({ c, i })).sort((a, b) => b.c.priority - a.c.priority || a.i - b.i);
  return { policies: order.map((o) => o.c), lists: lists.lists, geo: compileGeoRules(set) };
}

/** The policy with everything it inherits filled in, and the names of its ancestors. */
function resolveInheritance(
  set: PolicySetInput,
  index: number,
  byName: Map<string, number>,
  issues: PolicyIssue[],
): { policy: PolicyInput; ancestors: string[] } | undefined {
  const chain: PolicyInput[] = [set.policies[index]!];
  const seen = new Set([set.policies[index]!.name]);
  for (let p = chain[0]!; p.extends !== undefined;) {
    const parentIndex = byName.get(p.extends);
    if (parentIndex === undefined) {
      issues.push({ path: `policies[${index}].extends`, message: `no policy is named "${p.extends}"` });
      return undefined;
    }
    const parent = set.policies[parentIndex]!;
    if (seen.has(parent.name)) {
      issues.push({
        path: `policies[${index}].extends`,
        message: `"${p.extends}" leads back to "${parent.name}": inheritance must not loop`,
      });
      return undefined;
    }
    seen.add(parent.name);
    chain.push(parent);
    p = parent;
  }
  // Merge from the root down: later (more specific) fields win; `match` merges field by field.
  let merged: PolicyInput = { name: chain[0]!.name };
  for (const p of chain.slice().reverse()) {
    const { match, ...rest } = p;
    merged = { ...merged, ...rest, match: { ...merged.match, ...match } };
  }
  merged.name = chain[0]!.name;
  merged.overrides = chain[0]!.overrides;
  return { policy: merged, ancestors: chain.slice(1).map((p) => p.name) };
}

function timestampMs(
  value: string | Date | undefined,
  path: string,
  issues: PolicyIssue[],
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms))
    issues.push({
      path,
      message: `${JSON.stringify(value)} is not a date; use ISO 8601, e.g. 2025-01-31T00:00:00Z`,
    });
  return ms;
}

function compilePolicy(
  p: PolicyInput,
  ancestors: string[],
  at: string,
  byName: Map<string, number>,
  tiers: Set<string> | undefined,
  issues: PolicyIssue[],
): Omit<CompiledPolicy, 'classMask'> | undefined {
  const before = issues.length;
  const match = p.match ?? {};
  const scope: Scope = match.scope ?? 'global';
  if (scope === 'custom' && match.key === undefined)
    issues.push({
      path: `${at}.match.key`,
      message: 'scope custom needs a key template, e.g. "{tenant}:{header.x-client-id}"',
    });
  if (match.key !== undefined) {
    const problem = keyTemplateProblem(match.key);
    if (problem !== undefined) issues.push({ path: `${at}.match.key`, message: problem });
  }
  match.ips?.forEach((cidr, i) => {
    const problem = cidrProblem(cidr);
    if (problem !== undefined) issues.push({ path: `${at}.match.ips[${i}]`, message: problem });
  });
  p.overrides?.forEach((name, i) => {
    if (!byName.has(name))
      issues.push({ path: `${at}.overrides[${i}]`, message: `no policy is named "${name}"` });
  });
  if (p.tier !== undefined && tiers !== undefined && !tiers.has(p.tier)) {
    issues.push({
      path: `${at}.tier`,
      message: `"${p.tier}" is not one of the tiers (${[...tiers].join(', ')})`,
    });
  }
  const fromMs = timestampMs(p.effective_from, `${at}.effective_from`, issues, -Infinity);
  const untilMs = timestampMs(p.effective_until, `${at}.effective_until`, issues, Infinity);
  if (fromMs >= untilMs)
    issues.push({ path: `${at}.effective_until`, message: 'must be after effective_from' });
  let limiter: RateLimiter | undefined;
  if (p.limit === undefined) {
    issues.push({
      path: `${at}.limit`,
      message:
        'missing: give algorithm parameters (e.g. {algorithm: token_bucket, rate: 10, burst: 20}) or "unlimited"',
    });
  } else if (p.limit !== 'unlimited') {
    try {
      limiter = new RateLimiter(createAlgorithm(p.limit as unknown as AlgorithmSpec), { name: p.name });
    } catch (err) {
      if (!(err instanceof AlgorithmSpecError)) throw err;
      issues.push({ path: `${at}.limit.${err.path}`, message: err.message.slice(err.path.length + 2) });
    }
  }
  const cost = p.cost ?? 1;
  if (limiter !== undefined && cost > limiter.algorithm.limit) {
    issues.push({
      path: `${at}.cost`,
      message: `${cost} is above the limit of ${limiter.algorithm.limit}: every request would be refused`,
    });
  }
  if (limiter?.algorithm.name === 'sliding_window_log' && !Number.isInteger(cost)) {
    issues.push({ path: `${at}.cost`, message: `sliding_window_log counts whole requests; got ${cost}` });
  }
  const penalty = p.penalty === undefined ? undefined : compilePenalty(p.penalty, `${at}.penalty`, issues);
  if (p.penalty !== undefined && p.limit === 'unlimited')
    issues.push({
      path: `${at}.penalty`,
      message: 'an unlimited policy never refuses, so it cannot penalise',
    });
  if (issues.length > before) return undefined;

  const level: Level =
    p.level ??
    (match.path !== undefined ? 'endpoint' : match.users ? 'user' : match.tenants ? 'tenant' : 'global');
  return {
    name: p.name,
    scope,
    level,
    priority: p.priority ?? DEFAULT_PRIORITY[level],
    shadow: p.shadow ?? false,
    tier: p.tier,
    fromMs,
    untilMs,
    cost,
    limiter: p.enabled === false ? undefined : limiter,
    spec: p.enabled === false || limiter === undefined ? undefined : (p.limit as unknown as AlgorithmSpec),
    overrides: new Set([...ancestors, ...(p.overrides ?? [])]),
    matches: p.enabled === false ? () => false : compileMatch(match),
    keyOf: compileKey(scope, match.key),
    // A shadow policy never refuses, so it never blocks either; a disabled one applies to nothing.
    penalty: p.enabled === false || p.shadow === true || limiter === undefined ? undefined : penalty,
  };
}

/** The effect bits of the classes a policy selects; each must be the class of some list. */
function classMaskOf(
  classes: readonly string[] | undefined,
  classBits: ReadonlyMap<string, number>,
  at: string,
  issues: PolicyIssue[],
): number {
  let mask = 0;
  classes?.forEach((name, i) => {
    const bit = classBits.get(name);
    if (bit !== undefined) mask |= bit;
    else
      issues.push({
        path: `${at}[${i}]`,
        message: `no list has class "${name}"${classBits.size > 0 ? ` (classes: ${[...classBits.keys()].join(', ')})` : ''}`,
      });
  });
  return mask;
}
