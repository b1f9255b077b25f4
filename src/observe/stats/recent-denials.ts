// The last N denials (and "would deny" decisions), newest first, for the admin API's denial list, and the
// same denials grouped by tenant, reason and message shape with counts and first/last seen, so a storm of one
// denial reads as one line. Both are bounded: the ring overwrites old entries, and the group table forgets
// the group seen least recently when full, so memory never grows with traffic.

import type { DecisionReason } from '../../decision/decision.js';
import { RingCounter } from './ring-columns.js';
import { TENANT_TIERS } from './time-ranges.js';

export interface DenialEvent {
  timeMs: number;
  tenant: string;
  reason: DecisionReason;
  status: number;
  message: string;
  limit: number;
  observed: number;
  /** True when the limit was only observed and the request was forwarded. */
  wouldDeny: boolean;
}

/** Denials of one tenant for one reason whose messages differ only in their numbers. */
export interface DenialGroup {
  tenant: string;
  reason: DecisionReason;
  wouldDeny: boolean;
  /** The message with every number replaced by "N": what the group's denials have in common. */
  pattern: string;
  /** The newest denial of the group, in full. */
  last: DenialEvent;
  firstMs: number;
  /** Denials since firstMs (while the group was remembered). */
  count: number;
  /** Denials per bucket, for counts over a range. */
  ring: RingCounter;
}

/** Numbers in messages (costs, observed values, series counts) vary per request; the rest names the cause. */
const NUMBER = /\d+(?:\.\d+)?/g;

export function messagePattern(message: string): string {
  return message.replace(NUMBER, 'N');
}

export class RecentDenials {
  private readonly ring: (DenialEvent | undefined)[];
  private next = 0;
  private stored = 0;
  private readonly groups = new Map<string, DenialGroup>();

  constructor(
    readonly capacity: number,
    /** Most groups remembered; each costs one RingCounter (RingCounter.bytesFor(TENANT_TIERS)) and a message. */
    readonly maxGroups = capacity,
  ) {
    this.ring = new Array<DenialEvent | undefined>(capacity);
  }

  push(event: DenialEvent): void {
    this.ring[this.next] = event;
    this.next = (this.next + 1) % this.capacity;
    if (this.stored < this.capacity) this.stored++;
    this.group(event);
  }

  private group(event: DenialEvent): void {
    if (this.maxGroups <= 0) return;
    const pattern = messagePattern(event.message);
    // NUL cannot occur in a tenant id or reason, so the key is unambiguous.
    const key = `${event.tenant}\u0000${event.reason}\u0000${event.wouldDeny ? 'w' : 'd'}\u0000${pattern}`;
    let g = this.groups.get(key);
    if (!g) {
      if (this.groups.size >= this.maxGroups) this.forgetLeastRecent();
      g = {
        tenant: event.tenant,
        reason: event.reason,
        wouldDeny: event.wouldDeny,
        pattern,
        last: event,
        firstMs: event.timeMs,
        count: 0,
        ring: new RingCounter(TENANT_TIERS),
      };
      this.groups.set(key, g);
    }
    g.last = event;
    g.count++;
    g.ring.add(event.timeMs, 1);
  }

  /** Only when a new group arrives at a full table; a scan of at most maxGroups entries. */
  private forgetLeastRecent(): void {
    let oldestKey: string | undefined;
    let oldestMs = Infinity;
    for (const [key, g] of this.groups) {
      if (g.last.timeMs < oldestMs) {
        oldestMs = g.last.timeMs;
        oldestKey = key;
      }
    }
    if (oldestKey !== undefined) this.groups.delete(oldestKey);
  }

  /** Newest first; `keep` filters (by tenant, reason, time), at most `limit` events. */
  list(limit: number, keep: (e: DenialEvent) => boolean = () => true): DenialEvent[] {
    const out: DenialEvent[] = [];
    for (let k = 1; k <= this.stored && out.length < limit; k++) {
      const e = this.ring[(this.next - k + this.capacity) % this.capacity]!;
      if (keep(e)) out.push(e);
    }
    return out;
  }

  /**
   * Groups with a denial in the last `rangeMs`, most denials in the range first, at most `limit`; `keep`
   * filters on a group's newest denial. `inRange` counts the group's denials in the range.
   */
  grouped(
    nowMs: number,
    rangeMs: number,
    limit: number,
    keep: (g: DenialGroup) => boolean = () => true,
  ): { group: DenialGroup; inRange: number }[] {
    const out: { group: DenialGroup; inRange: number }[] = [];
    for (const g of this.groups.values()) {
      if (g.last.timeMs <= nowMs - rangeMs || !keep(g)) continue;
      out.push({ group: g, inRange: g.ring.sum(nowMs, rangeMs) });
    }
    out.sort((a, b) => b.inRange - a.inRange || b.group.last.timeMs - a.group.last.timeMs);
    return out.slice(0, limit);
  }

  get groupCount(): number {
    return this.groups.size;
  }
}
