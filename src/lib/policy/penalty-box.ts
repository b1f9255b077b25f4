// Where penalty records live: the seam the policy engine asks (is this identity blocked? count this
// denial; list and lift blocks), and its in-process form. A shared store (Redis, redis-penalties.ts)
// answers "blocked?" from a local mirror, so that question is synchronous everywhere and a blocked
// request never waits; counting and lifting may answer with a Promise.

import type { PenaltyBlock, PenaltyRule, PenaltyState } from './penalty.js';
import { PENALTY_KEY_SEPARATOR, forgetAtMs, isBlocked, penaltyReason, recordDenial } from './penalty.js';

export interface PenaltyBox {
  /** The block `key` is under by `policy` at `nowMs`, if any. Synchronous: a Map lookup. */
  blockOf(policy: string, key: string, nowMs: number): PenaltyBlock | undefined;
  /** Counts one denial of `key` by `policy`; resolves with the block it started, if it started one. */
  offend(
    policy: string,
    rule: PenaltyRule,
    key: string,
    nowMs: number,
  ): PenaltyBlock | undefined | Promise<PenaltyBlock | undefined>;
  /** Every block in force at `nowMs`, soonest end first. */
  active(nowMs: number): PenaltyBlock[] | Promise<PenaltyBlock[]>;
  /** Number of blocks in force (for the gauge; a shared store answers from its mirror). */
  activeCount(nowMs: number): number;
  /** Ends `key`'s block and forgets its record (level and denials): true when there was a block. */
  lift(policy: string, key: string, nowMs: number): boolean | Promise<boolean>;
  /** Forgets up to `maxRecords` records that say nothing any more; returns how many. */
  sweep(nowMs: number, maxRecords: number): number;
}

/** Records one process keeps at most: an identity beyond them is not tracked until others are forgotten. */
export const MAX_PENALTY_RECORDS = 100_000;

interface Entry {
  policy: string;
  key: string;
  rule: PenaltyRule;
  state: PenaltyState;
}

function toBlock(e: Entry): PenaltyBlock {
  return {
    policy: e.policy,
    key: e.key,
    level: e.state.level,
    startMs: e.state.blockStartMs,
    endMs: e.state.blockEndMs,
    reason: penaltyReason(e.rule),
  };
}

/** Penalty records in this process: a Map from "policy/key" to the record, swept a slice at a time. */
export class InProcessPenaltyBox implements PenaltyBox {
  private readonly records = new Map<string, Entry>();
  /**
   * The records currently blocking, by policy then key: blockOf() is two lookups with the strings the
   * request already has (no key to build and hash per request), in a map that is empty for most policies.
   */
  private readonly blocking = new Map<string, Map<string, Entry>>();
  private blockingCount = 0;
  private cursor: Iterator<[string, Entry]> | undefined;

  constructor(private readonly maxRecords = MAX_PENALTY_RECORDS) {}

  blockOf(policy: string, key: string, nowMs: number): PenaltyBlock | undefined {
    if (this.blockingCount === 0) return undefined;
    const e = this.blocking.get(policy)?.get(key);
    if (e === undefined) return undefined;
    if (isBlocked(e.state, nowMs)) return toBlock(e);
    if (nowMs >= e.state.blockEndMs) this.unblock(policy, key);
    return undefined;
  }

  private unblock(policy: string, key: string): void {
    const keys = this.blocking.get(policy);
    if (keys?.delete(key) !== true) return;
    this.blockingCount--;
    if (keys.size === 0) this.blocking.delete(policy);
  }

  offend(policy: string, rule: PenaltyRule, key: string, nowMs: number): PenaltyBlock | undefined {
    const id = policy + PENALTY_KEY_SEPARATOR + key;
    let e = this.records.get(id);
    if (e === undefined && this.records.size >= this.maxRecords) return undefined;
    const counted = recordDenial(e?.state, rule, nowMs);
    if (e === undefined) {
      e = { policy, key, rule, state: counted.state };
      this.records.set(id, e);
    }
    e.rule = rule; // a reloaded policy counts by its new rule from now on
    if (!counted.blocked) return undefined;
    let keys = this.blocking.get(policy);
    if (keys === undefined) this.blocking.set(policy, (keys = new Map()));
    if (!keys.has(key)) this.blockingCount++;
    keys.set(key, e);
    return toBlock(e);
  }

  active(nowMs: number): PenaltyBlock[] {
    const out: PenaltyBlock[] = [];
    for (const keys of this.blocking.values())
      for (const e of keys.values()) {
        if (isBlocked(e.state, nowMs)) out.push(toBlock(e));
        else if (nowMs >= e.state.blockEndMs) this.unblock(e.policy, e.key);
      }
    return out.sort((a, b) => a.endMs - b.endMs);
  }

  activeCount(nowMs: number): number {
    let n = 0;
    for (const keys of this.blocking.values())
      for (const e of keys.values()) if (isBlocked(e.state, nowMs)) n++;
    return n;
  }

  lift(policy: string, key: string, nowMs: number): boolean {
    const id = policy + PENALTY_KEY_SEPARATOR + key;
    const e = this.records.get(id);
    this.records.delete(id);
    this.unblock(policy, key);
    return e !== undefined && isBlocked(e.state, nowMs);
  }

  sweep(nowMs: number, maxRecords: number): number {
    let dropped = 0;
    for (let seen = 0; seen < maxRecords && this.records.size > 0; seen++) {
      this.cursor ??= this.records.entries();
      const next = this.cursor.next();
      if (next.done === true) {
        this.cursor = undefined;
        break;
      }
      const [id, e] = next.value;
      if (nowMs >= forgetAtMs(e.state, e.rule)) {
        this.records.delete(id);
        this.unblock(e.policy, e.key);
        dropped++;
      }
    }
    return dropped;
  }

  /** Records held (for tests and the bound). */
  get size(): number {
    return this.records.size;
  }
}
