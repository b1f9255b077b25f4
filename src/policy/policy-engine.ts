// Evaluates every policy that applies to a request in one synchronous call: block list, allow list,
// then the matching policies (minus those a more specific one overrides). The most restrictive result
// decides and is named in the answer; a denied request consumes nothing from any enforced policy;
// shadow policies count and report but never deny. Never awaits and never reads the clock.

import type { RateDecision } from '../engine/rate-decision.js';
import { emptyRateDecision } from '../engine/rate-decision.js';
import type { CompiledPolicy, CompiledPolicySet, IdentityLists } from './policy-set.js';
import type { RequestContext } from './request-context.js';

export type PolicyOutcome = 'allowed' | 'rate_limited' | 'blocked' | 'allow_listed' | 'no_policy';

export interface PolicyResult {
  policy: string;
  key: string;
  shadow: boolean;
  /** Undefined for an unlimited policy. */
  decision: RateDecision | undefined;
}

export interface PolicyEvaluation {
  allowed: boolean;
  outcome: PolicyOutcome;
  /**
   * The result that decided: the enforced denial with the longest wait, or, when allowed, the enforced
   * policy with the least remaining. Undefined when no limited policy applied (or a list decided).
   */
  decision: RateDecision | undefined;
  /** Every policy that applied, in priority order. */
  results: PolicyResult[];
  /** Shadow policies that would have denied this request. */
  shadowDenied: string[];
  /** Units held by concurrency policies: give them back with engine.release() when the request ends. */
  held: { policy: CompiledPolicy; key: string; cost: number }[];
}

function listed(lists: IdentityLists | undefined, ctx: RequestContext): boolean {
  if (lists === undefined) return false;
  return (
    lists.ips.has(ctx.ip) ||
    (ctx.user !== undefined && lists.users.has(ctx.user)) ||
    (ctx.apiKey !== undefined && lists.apiKeys.has(ctx.apiKey)) ||
    (ctx.tenant !== undefined && lists.tenants.has(ctx.tenant))
  );
}

/** True when `a` is more restrictive than `b` (both denials, or both allowed). */
function moreRestrictive(a: RateDecision, b: RateDecision): boolean {
  if (!a.allowed) return a.retryAfterMs > b.retryAfterMs;
  return a.remaining < b.remaining;
}

export class PolicyEngine {
  constructor(private set: CompiledPolicySet) {}

  /** Replaces the policies (e.g. after a reload); counters start fresh for the new set. */
  replace(set: CompiledPolicySet): void {
    this.set = set;
  }

  get policies(): readonly CompiledPolicy[] {
    return this.set.policies;
  }

  /** Decides `ctx` at `nowMs` against every applicable policy and records the request where allowed. */
  evaluate(ctx: RequestContext, nowMs: number): PolicyEvaluation {
    const { allow, block, policies } = this.set;
    const evaluation: PolicyEvaluation = {
      allowed: true,
      outcome: 'no_policy',
      decision: undefined,
      results: [],
      shadowDenied: [],
      held: [],
    };
    if (listed(block, ctx)) {
      evaluation.allowed = false;
      evaluation.outcome = 'blocked';
      return evaluation;
    }
    if (listed(allow, ctx)) {
      evaluation.outcome = 'allow_listed';
      return evaluation;
    }

    const applicable: { policy: CompiledPolicy; key: string }[] = [];
    let overridden: Set<string> | undefined;
    for (const policy of policies) {
      if (nowMs < policy.fromMs || nowMs >= policy.untilMs) continue;
      if (policy.tier !== undefined && policy.tier !== ctx.tier) continue;
      if (!policy.matches(ctx)) continue;
      const key = policy.keyOf(ctx);
      if (key === undefined) continue;
      applicable.push({ policy, key });
      for (const name of policy.overrides) (overridden ??= new Set()).add(name);
    }

    // Phase 1: look without recording, so a denial by one policy costs nothing in the others.
    let denial: RateDecision | undefined;
    for (const { policy, key } of applicable) {
      if (overridden?.has(policy.name)) continue;
      evaluation.outcome = 'allowed';
      if (policy.limiter === undefined) {
        evaluation.results.push({ policy: policy.name, key, shadow: policy.shadow, decision: undefined });
        continue;
      }
      if (policy.shadow) continue;
      const d = policy.limiter.peek(key, nowMs, policy.cost);
      if (!d.allowed && (denial === undefined || moreRestrictive(d, denial))) denial = d;
    }

    // Phase 2: record in every applicable policy (enforced ones only when the request passes).
    for (const { policy, key } of applicable) {
      if (overridden?.has(policy.name) || policy.limiter === undefined) continue;
      if (!policy.shadow && denial !== undefined) {
        // Nothing was recorded: report this policy's denial, or its untouched state when it had room.
        const would = policy.limiter.peek(key, nowMs, policy.cost);
        const decision = would.allowed ? policy.limiter.peek(key, nowMs, 0) : would;
        evaluation.results.push({ policy: policy.name, key, shadow: false, decision });
        continue;
      }
      const d = policy.limiter.check(key, nowMs, policy.cost, emptyRateDecision());
      evaluation.results.push({ policy: policy.name, key, shadow: policy.shadow, decision: d });
      // A unit taken by a concurrency policy (shadow or not) must be given back when the request ends.
      if (d.allowed && policy.limiter.algorithm.release !== undefined) {
        evaluation.held.push({ policy, key, cost: policy.cost });
      }
      if (policy.shadow) {
        if (!d.allowed) evaluation.shadowDenied.push(policy.name);
        continue;
      }
      if (evaluation.decision === undefined || moreRestrictive(d, evaluation.decision))
        evaluation.decision = d;
    }
    if (denial !== undefined) {
      evaluation.allowed = false;
      evaluation.outcome = 'rate_limited';
      evaluation.decision = denial;
    }
    return evaluation;
  }

  /** Gives back what concurrency policies hold for `evaluation` (call once, when the request ends). */
  release(evaluation: PolicyEvaluation, nowMs: number): void {
    for (const h of evaluation.held) h.policy.limiter?.release(h.key, nowMs, h.cost);
    evaluation.held.length = 0;
  }

  /** Forgets counters that are back to fresh in every policy; returns how many keys were dropped. */
  sweep(nowMs: number, maxSlotsPerPolicy = Infinity): number {
    let dropped = 0;
    for (const p of this.set.policies) dropped += p.limiter?.sweep(nowMs, maxSlotsPerPolicy) ?? 0;
    return dropped;
  }
}
