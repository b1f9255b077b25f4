// The seam between the policy engine and limits kept outside the process (Redis): what the engine asks
// of a shared store, so the engine itself never imports any I/O. The store answers with Promises; while
// it is unreachable it lends the engine in-process limiters (this replica's share of each limit).

import type { RateDecision } from '../engine/rate-decision.js';
import type { RateLimiter } from '../engine/rate-limiter.js';
import type { PenaltyBox } from './penalty-box.js';
import type { CompiledPolicy } from './policy-set.js';

/** A shared decision; `lease` names units a concurrency policy holds until released. */
export interface SharedDecision extends RateDecision {
  lease?: string | undefined;
}

export interface SharedPolicyLimits {
  /** False while the shared store is unreachable: decide in process with local(). */
  readonly active: boolean;
  check(policy: CompiledPolicy, key: string, cost: number): Promise<SharedDecision>;
  peek(policy: CompiledPolicy, key: string, cost: number): Promise<SharedDecision>;
  /** Gives back a concurrency lease; never throws (a lost release lapses with its lease). */
  release(policy: CompiledPolicy, key: string, lease: string): void;
  /** The in-process limiter deciding `policy` while the store is unreachable. */
  local(policy: CompiledPolicy): RateLimiter | undefined;
  /** Forgets fresh keys of the local limiters; returns how many were dropped. */
  sweep(nowMs: number, maxSlots: number): number;
  /** Penalty records in the same store, so every replica enforces the same blocks (absent: in process). */
  readonly penalties?: PenaltyBox;
}
