// Evaluates every policy that applies to a request in one call: block list, allow list, then the
// matching policies (minus those a more specific one overrides). The most restrictive result decides and
// is named in the answer; a denied request consumes nothing from any enforced policy; shadow policies
// count and report but never deny. In process it never awaits; with a shared store (Redis) decide()
// answers with a Promise. Never reads the clock.

import type { RateDecision } from '../engine/rate-decision.js';
import { emptyRateDecision } from '../engine/rate-decision.js';
import type { RateLimiter } from '../engine/rate-limiter.js';
import { ALLOW_EFFECT, BLOCK_EFFECT } from '../lists/list-index.js';
import { ListStore } from '../lists/list-store.js';
import type { CompiledPolicy, CompiledPolicySet } from './policy-set.js';
import type { RequestContext } from './request-context.js';
import type { SharedDecision, SharedPolicyLimits } from './shared-limits.js';

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
  held: HeldUnits[];
}

export interface HeldUnits {
  policy: CompiledPolicy;
  key: string;
  cost: number;
  /** The shared store's lease (units held in Redis). */
  lease?: string | undefined;
  /** The in-process limiter holding them when it is not the policy's own (a fallback share). */
  limiter?: RateLimiter | undefined;
}

function newEvaluation(): PolicyEvaluation {
  return {
    allowed: true,
    outcome: 'no_policy',
    decision: undefined,
    results: [],
    shadowDenied: [],
    held: [],
  };
}

interface Applicable {
  policy: CompiledPolicy;
  key: string;
  /** Units this request takes: the policy's `cost` times the request's weight. */
  cost: number;
}

/** True when `a` is more restrictive than `b` (both denials, or both allowed). */
function moreRestrictive(a: RateDecision, b: RateDecision): boolean {
  if (!a.allowed) return a.retryAfterMs > b.retryAfterMs;
  return a.remaining < b.remaining;
}

export class PolicyEngine {
  private shared: SharedPolicyLimits | undefined;
  /** The allow, block and class lists in force: file reloads and runtime changes go through it. */
  readonly lists: ListStore;

  constructor(
    private set: CompiledPolicySet,
    shared?: SharedPolicyLimits,
  ) {
    this.shared = shared;
    this.lists = new ListStore(set.lists);
  }

  /** Replaces the policies (e.g. after a reload); counters start fresh for the new set. */
  replace(set: CompiledPolicySet): void {
    this.set = set;
    this.lists.define(set.lists);
  }

  /** Keeps the counters in a shared store from now on (undefined: back in process). */
  useShared(shared: SharedPolicyLimits | undefined): void {
    this.shared = shared;
  }

  /** Whether counters live in a shared store, so decide() may answer with a Promise. */
  get isShared(): boolean {
    return this.shared !== undefined;
  }

  get policies(): readonly CompiledPolicy[] {
    return this.set.policies;
  }

  /**
   * Decides `ctx`: synchronously in process (or while the shared store is unreachable), with a Promise
   * when the counters are shared. Never rejects: a failed round trip is decided in process.
   */
  decide(ctx: RequestContext, nowMs: number): PolicyEvaluation | Promise<PolicyEvaluation> {
    const shared = this.shared;
    if (shared === undefined || !shared.active) return this.evaluate(ctx, nowMs);
    const evaluation = newEvaluation();
    const applicable = this.applicable(ctx, nowMs, evaluation);
    if (applicable === undefined || applicable.length === 0) return evaluation;
    return this.evaluateShared(shared, applicable, evaluation).catch(() => this.evaluate(ctx, nowMs));
  }

  /**
   * Decides `ctx` at `nowMs` against every applicable policy, in process, and records the request where
   * allowed. With a shared store this is the fallback: it uses the store's local share of each limit.
   */
  evaluate(ctx: RequestContext, nowMs: number): PolicyEvaluation {
    const evaluation = newEvaluation();
    const applicable = this.applicable(ctx, nowMs, evaluation);
    if (applicable === undefined) return evaluation;
    const shared = this.shared;

    // Phase 1: look without recording, so a denial by one policy costs nothing in the others.
    let denial: RateDecision | undefined;
    for (const { policy, key, cost } of applicable) {
      evaluation.outcome = 'allowed';
      const limiter = shared === undefined ? policy.limiter : shared.local(policy);
      if (limiter === undefined) {
        evaluation.results.push({ policy: policy.name, key, shadow: policy.shadow, decision: undefined });
        continue;
      }
      if (policy.shadow) continue;
      const d = limiter.peek(key, nowMs, cost);
      if (!d.allowed && (denial === undefined || moreRestrictive(d, denial))) denial = d;
    }

    // Phase 2: record in every applicable policy (enforced ones only when the request passes).
    for (const { policy, key, cost } of applicable) {
      const limiter = shared === undefined ? policy.limiter : shared.local(policy);
      if (limiter === undefined) continue;
      if (!policy.shadow && denial !== undefined) {
        // Nothing was recorded: report this policy's denial, or its untouched state when it had room.
        const would = limiter.peek(key, nowMs, cost);
        const decision = would.allowed ? limiter.peek(key, nowMs, 0) : would;
        evaluation.results.push({ policy: policy.name, key, shadow: false, decision });
        continue;
      }
      const d = limiter.check(key, nowMs, cost, emptyRateDecision());
      evaluation.results.push({ policy: policy.name, key, shadow: policy.shadow, decision: d });
      // A unit taken by a concurrency policy (shadow or not) must be given back when the request ends.
      if (d.allowed && limiter.algorithm.release !== undefined) {
        evaluation.held.push({
          policy,
          key,
          cost,
          limiter: limiter === policy.limiter ? undefined : limiter,
        });
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
    for (const h of evaluation.held) {
      if (h.lease !== undefined) this.shared?.release(h.policy, h.key, h.lease);
      else (h.limiter ?? h.policy.limiter)?.release(h.key, nowMs, h.cost);
    }
    evaluation.held.length = 0;
  }

  /** Forgets counters that are back to fresh in every policy; returns how many keys were dropped. */
  sweep(nowMs: number, maxSlotsPerPolicy = Infinity): number {
    let dropped = 0;
    for (const p of this.set.policies) dropped += p.limiter?.sweep(nowMs, maxSlotsPerPolicy) ?? 0;
    return dropped + (this.shared?.sweep(nowMs, maxSlotsPerPolicy) ?? 0);
  }

  /**
   * The policies that apply to `ctx` (minus overridden ones), or undefined when a list decided (the
   * evaluation then says so).
   */
  private applicable(
    ctx: RequestContext,
    nowMs: number,
    evaluation: PolicyEvaluation,
  ): Applicable[] | undefined {
    const { policies } = this.set;
    // One walk of the lists gives the block and allow verdicts and the reputation classes together.
    const effects = this.lists.index.effects(ctx);
    if ((effects & BLOCK_EFFECT) !== 0) {
      evaluation.allowed = false;
      evaluation.outcome = 'blocked';
      return undefined;
    }
    if ((effects & ALLOW_EFFECT) !== 0) {
      evaluation.outcome = 'allow_listed';
      return undefined;
    }
    const applicable: Applicable[] = [];
    let overridden: Set<string> | undefined;
    for (const policy of policies) {
      if (nowMs < policy.fromMs || nowMs >= policy.untilMs) continue;
      if (policy.tier !== undefined && policy.tier !== ctx.tier) continue;
      if (policy.classMask !== 0 && (effects & policy.classMask) === 0) continue;
      if (!policy.matches(ctx)) continue;
      const key = policy.keyOf(ctx);
      if (key === undefined) continue;
      applicable.push({
        policy,
        key,
        cost: ctx.weight === undefined ? policy.cost : policy.cost * ctx.weight,
      });
      for (const name of policy.overrides) (overridden ??= new Set()).add(name);
    }
    return overridden === undefined ? applicable : applicable.filter((a) => !overridden.has(a.policy.name));
  }

  /**
   * The shared-store evaluation. One enforced policy: one atomic check (a denial consumes nothing).
   * Several: first a look at all of them, then the checks, both batched into one round trip each. A
   * check refused in between (another replica took the last units) denies the request; units the other
   * policies recorded for it stay counted, so the race can only make the fleet stricter, never looser.
   */
  private async evaluateShared(
    shared: SharedPolicyLimits,
    applicable: Applicable[],
    evaluation: PolicyEvaluation,
  ): Promise<PolicyEvaluation> {
    evaluation.outcome = 'allowed';
    const enforced: Applicable[] = [];
    const shadows: Applicable[] = [];
    for (const a of applicable) {
      if (a.policy.spec === undefined) {
        evaluation.results.push({
          policy: a.policy.name,
          key: a.key,
          shadow: a.policy.shadow,
          decision: undefined,
        });
      } else (a.policy.shadow ? shadows : enforced).push(a);
    }
    let denial: RateDecision | undefined;
    let looks: SharedDecision[] | undefined;
    if (enforced.length > 1) {
      looks = await Promise.all(enforced.map((a) => shared.peek(a.policy, a.key, a.cost)));
      for (const d of looks)
        if (!d.allowed && (denial === undefined || moreRestrictive(d, denial))) denial = d;
    }
    const toCheck = denial === undefined ? enforced.concat(shadows) : shadows;
    const settled = await Promise.allSettled(toCheck.map((a) => shared.check(a.policy, a.key, a.cost)));
    const failure = settled.find((r) => r.status === 'rejected');
    if (failure !== undefined) {
      // Decided in process instead: leases taken in Redis for this request would only lapse, so give them back.
      settled.forEach((r, i) => {
        const lease = r.status === 'fulfilled' ? r.value.lease : undefined;
        if (lease !== undefined) shared.release(toCheck[i]!.policy, toCheck[i]!.key, lease);
      });
      throw failure.reason;
    }
    const checked = settled.map((r) => (r as PromiseFulfilledResult<SharedDecision>).value);
    if (denial !== undefined) {
      enforced.forEach((a, i) =>
        evaluation.results.push({ policy: a.policy.name, key: a.key, shadow: false, decision: looks![i] }),
      );
    }
    let raced: RateDecision | undefined;
    toCheck.forEach((a, i) => {
      const d = checked[i]!;
      const { policy, key, cost } = a;
      evaluation.results.push({ policy: policy.name, key, shadow: policy.shadow, decision: d });
      if (d.lease !== undefined) evaluation.held.push({ policy, key, cost, lease: d.lease });
      if (policy.shadow) {
        if (!d.allowed) evaluation.shadowDenied.push(policy.name);
        return;
      }
      if (!d.allowed && (raced === undefined || moreRestrictive(d, raced))) raced = d;
      if (evaluation.decision === undefined || moreRestrictive(d, evaluation.decision))
        evaluation.decision = d;
    });
    denial ??= raced;
    if (denial !== undefined) {
      if (raced !== undefined) {
        // Refused after all: give back the concurrency units the enforced policies took for it.
        evaluation.held = evaluation.held.filter((h) => {
          if (h.policy.shadow) return true;
          shared.release(h.policy, h.key, h.lease!);
          return false;
        });
      }
      evaluation.allowed = false;
      evaluation.outcome = 'rate_limited';
      evaluation.decision = denial;
    }
    return evaluation;
  }
}
