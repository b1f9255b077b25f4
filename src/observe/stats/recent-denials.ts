// The last N denials (and "would deny" decisions), newest first, for the admin API's denial list.
// A fixed-size ring: old entries are overwritten, so memory never grows with traffic.

import type { DecisionReason } from '../../decision/decision.js';

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

export class RecentDenials {
  private readonly ring: (DenialEvent | undefined)[];
  private next = 0;
  private stored = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<DenialEvent | undefined>(capacity);
  }

  push(event: DenialEvent): void {
    this.ring[this.next] = event;
    this.next = (this.next + 1) % this.capacity;
    if (this.stored < this.capacity) this.stored++;
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
}
