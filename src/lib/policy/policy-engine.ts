// Evaluates every policy that applies to a request in one call: block list, allow list, then the
// matching policies (minus those a more specific one overrides). The most restrictive result decides and
// is named in the answer; a denied request consumes nothing from any enforced policy; shadow policies
// count and report but never deny. In process it never awaits; with a shared store (Redis) decide()
// answers with a Promise. Never reads the clock.

import type { RateDecision } from '../engine/rate-decision.js';
import { emptyRateDecision } from '../engine/rate-decision.js';
import type { RateLimiter } from '../engine/rate-limiter.js';
import type { GeoResolver } from '../geo/geo-resolver.js';
import { ALLOW_EFFECT, BLOCK_EFFECT } from '../lists/list-index.js';
import { ListStore } from '../lists/list-store.js';
import type { GeoRules } from './geo-rules.js';
import { geoListed, locate } from './geo-rules.js';
import type { PenaltyBlock } from './penalty.js';
import type { PenaltyBox } from './penalty-box.js';
import { InProcessPenaltyBox } from './penalty-box.js';
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
  /** The penalty block that refused the request (outcome `blocked`); undefined for the block list. */
  block?: PenaltyBlock | undefined;
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
    block: undefined,
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
  private readonly localPenalties = new InProcessPenaltyBox();
  private penaltyBox: PenaltyBox;
  /** The enforced policies with a penalty, by name: the only ones a block is looked up for. */
  private penalized = new Map<string, CompiledPolicy>();
  /** Told of every block a penalty starts (metrics, logs); must not throw. */
  onBlock: ((block: PenaltyBlock) => void) | undefined;
  /** The allow, block and class lists in force: file reloads and runtime changes go through it. */
  readonly lists: ListStore;

  constructor(
    private set: CompiledPolicySet,
    shared?: SharedPolicyLimits,
  ) {
    this.shared = shared;
    this.penaltyBox = shared?.penalties ?? this.localPenalties;
    this.lists = new ListStore(set.lists);
    this.indexPenalties();
  }

  /** Replaces the policies (e.g. after a reload); counters start fresh for the new set. Blocks are kept. */
  replace(set: CompiledPolicySet): void {
    this.set = set;
    this.indexPenalties();
    this.lists.define(set.lists);
  }

  /** Keeps the counters in a shared store from now on (undefined: back in process). */
  useShared(shared: SharedPolicyLimits | undefined): void {
    this.shared = shared;
    this.penaltyBox = shared?.penalties ?? this.localPenalties;
  }

  /** Where blocks are recorded: this process, or the shared store's. */
  get penalties(): PenaltyBox {
    return this.penaltyBox;
  }

  private indexPenalties(): void {
    const penalized = new Map<string, CompiledPolicy>();
    for (const p of this.set.policies) if (p.penalty !== undefined) penalized.set(p.name, p);
    this.penalized = penalized;
  }

  private geo: GeoResolver | undefined;

  /**
   * Where the client's country and ASN come from when a rule names one (e.g. GeoIpDatabases). Without it,
   * country and ASN rules see only what the caller put in the RequestContext.
   */
  useGeo(resolver: GeoResolver | undefined): void {
    this.geo = resolver;
  }

  /** Whether counters live in a shared store, so decide() may answer with a Promise. */
  get isShared(): boolean {
    return this.shared !== undefined;
  }

  get policies(): readonly CompiledPolicy[] {
    return this.set.policies;
  }

  /** The countries and ASNs the set in force names (undefined: none), e.g. to label metrics by them. */
  get geoRules(): GeoRules | undefined {
    return this.set.geo;
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
    return this.evaluateShared(shared, applicable, evaluation).then(
      (e) => this.penalise(e, nowMs),
      () => this.evaluate(ctx, nowMs),
    );
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
      this.penalise(evaluation, nowMs);
    }
    return evaluation;
  }

  /**
   * Counts a denial against the identity of every enforced policy with a penalty that refused it. A
   * shared store answers later: the block it starts refuses the next request, never this one.
   */
  private penalise(evaluation: PolicyEvaluation, nowMs: number): PolicyEvaluation {
    if (evaluation.allowed || this.penalized.size === 0) return evaluation;
    for (const r of evaluation.results) {
      if (r.shadow || r.decision?.allowed !== false) continue;
      const rule = this.penalized.get(r.policy)?.penalty;
      if (rule === undefined) continue;
      const started = this.penaltyBox.offend(r.policy, rule, r.key, nowMs);
      if (started instanceof Promise)
        started.then(
          (b) => this.started(b),
          () => undefined,
        );
      else this.started(started);
    }
    return evaluation;
  }

  private started(block: PenaltyBlock | undefined): void {
    if (block !== undefined) this.onBlock?.(block);
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
    dropped += this.penaltyBox.sweep(nowMs, maxSlotsPerPolicy);
    if (this.penaltyBox !== this.localPenalties)
      dropped += this.localPenalties.sweep(nowMs, maxSlotsPerPolicy);
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
    const { policies, geo } = this.set;
    if (geo !== undefined && this.geo !== undefined) locate(ctx, geo, this.geo);
    // One walk of the lists gives the block and allow verdicts and the reputation classes together.
    const effects = this.lists.index.effects(ctx);
    if ((effects & BLOCK_EFFECT) !== 0 || geoListed(geo?.block, ctx)) {
      evaluation.allowed = false;
      evaluation.outcome = 'blocked';
      return undefined;
    }
    if ((effects & ALLOW_EFFECT) !== 0 || geoListed(geo?.allow, ctx)) {
      evaluation.outcome = 'allow_listed';
      return undefined;
    }
    if (this.penalized.size > 0) {
      // A block covers every request of the identity, not only those the policy matches: it is the
      // identity that was refused again and again. Its buckets are not touched meanwhile.
      for (const p of this.penalized.values()) {
        const key = p.keyOf(ctx);
        const block = key === undefined ? undefined : this.penaltyBox.blockOf(p.name, key, nowMs);
        if (block !== undefined) {
          evaluation.allowed = false;
          evaluation.outcome = 'blocked';
          evaluation.block = block;
          return undefined;
        }
      }
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
