// The penalty blocks in force, as the admin API and the UI show them, and lifting one. Reads the policy
// engine's penalty box (this process, or Redis for the fleet); never touches the hot path's state beyond
// what the box itself does. API keys are never shown: their blocks name a masked key.

import type { PolicyEngine } from '../lib/policy/policy-engine.js';
import type { PenaltyBlock } from '../lib/policy/penalty.js';
import { blockId } from '../lib/policy/penalty.js';
import type { Scope } from '../lib/policy/policy-schema.js';

export interface BlockView {
  /** Opaque id for DELETE /api/blocks/{id}. */
  id: string;
  policy: string;
  /** What the policy counts by: ip, user, api_key, tenant, global, custom; null if the policy is gone. */
  scope: Scope | null;
  /** The blocked identity (the policy's key); an API key is masked to its first 4 characters. */
  identity: string;
  level: number;
  reason: string;
  started_at: string;
  ends_at: string;
  /** Whole seconds until it ends (what Retry-After says to the client). */
  remaining_seconds: number;
}

export function maskedIdentity(scope: Scope | null, key: string): string {
  if (scope !== 'api_key') return key;
  return `${key.slice(0, 4)}… (${key.length} characters)`;
}

export class PolicyBlocks {
  constructor(
    private readonly engine: PolicyEngine,
    private readonly now: () => number,
    /** Told of every lift (metrics). */
    private readonly onLift?: (block: BlockView) => void,
  ) {}

  private view(b: PenaltyBlock, nowMs: number): BlockView {
    const scope = this.engine.policies.find((p) => p.name === b.policy)?.scope ?? null;
    return {
      id: blockId(b.policy, b.key),
      policy: b.policy,
      scope,
      identity: maskedIdentity(scope, b.key),
      level: b.level,
      reason: b.reason,
      started_at: new Date(b.startMs).toISOString(),
      ends_at: new Date(b.endMs).toISOString(),
      remaining_seconds: Math.max(1, Math.ceil((b.endMs - nowMs) / 1000)),
    };
  }

  /** Every block in force, soonest end first. */
  async list(): Promise<BlockView[]> {
    const nowMs = this.now();
    const blocks = await this.engine.penalties.active(nowMs);
    return blocks.map((b) => this.view(b, nowMs));
  }

  /** Lifts the block `id` names: its view as it was, or undefined when no block in force has that id. */
  async lift(id: string): Promise<BlockView | undefined> {
    const nowMs = this.now();
    const blocks = await this.engine.penalties.active(nowMs);
    const found = blocks.find((b) => blockId(b.policy, b.key) === id);
    if (found === undefined) return undefined;
    const view = this.view(found, nowMs);
    await this.engine.penalties.lift(found.policy, found.key, nowMs);
    this.onLift?.(view);
    return view;
  }
}
