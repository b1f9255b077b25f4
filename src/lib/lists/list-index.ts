// Every named list of a policy set folded into one lookup structure: one prefix trie for all the
// address lists, one map per identity kind, and the user-agent entries. What a list does (block, allow,
// put into a class) is a bit of an "effect" mask; a request's mask is the OR over every list it is on, so
// one trie walk and three map lookups answer for any number of lists. Built whole by the ListStore, which
// sets single entries in place for small changes (setEffect).

import { headerValue } from '../policy/key-template.js';
import type { RequestContext } from '../policy/request-context.js';
import { IpTrie } from './ip-trie.js';
import type { ListKind } from './list-format.js';

/** The request is refused (403). */
export const BLOCK_EFFECT = 1;
/** The request skips every policy. */
export const ALLOW_EFFECT = 2;
/** Bits from here up name reputation classes, so a set can have up to 29. */
export const FIRST_CLASS_BIT = 2;
export const MAX_CLASSES = 29;

export interface ListContent {
  readonly kind: ListKind;
  /** The mask a request on this list gets (BLOCK_EFFECT, ALLOW_EFFECT and/or a class bit). */
  readonly effect: number;
  /** Canonical entries (see canonicalEntry()). */
  readonly entries: Iterable<string>;
}

interface AgentPattern {
  readonly test: RegExp;
  readonly effect: number;
}

/** "*bot*" → /^.*bot.*$/i: "*" is any run of characters, everything else literal. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'is');
}

export class ListIndex {
  static readonly EMPTY = new ListIndex([]);

  private readonly ips = new IpTrie();
  private readonly users = new Map<string, number>();
  private readonly apiKeys = new Map<string, number>();
  private readonly tenants = new Map<string, number>();
  private readonly agents = new Map<string, number>();
  private readonly agentPatterns: AgentPattern[] = [];
  /** The OR of every effect any entry can give (or once gave): a request cannot get a bit outside it. */
  private anyEffect: number;

  constructor(lists: readonly ListContent[]) {
    let any = 0;
    for (const list of lists) {
      const { effect } = list;
      for (const entry of list.entries) {
        any |= effect;
        switch (list.kind) {
          case 'ip':
            this.ips.set(entry, (this.ips.get(entry) ?? 0) | effect);
            break;
          case 'user':
            addTo(this.users, entry, effect);
            break;
          case 'api_key':
            addTo(this.apiKeys, entry, effect);
            break;
          case 'tenant':
            addTo(this.tenants, entry, effect);
            break;
          case 'user_agent':
            if (entry.includes('*')) this.agentPatterns.push({ test: globToRegExp(entry), effect });
            else addTo(this.agents, entry.toLowerCase(), effect);
            break;
        }
      }
    }
    this.ips.trim();
    this.anyEffect = any;
  }

  /**
   * Sets what one entry of `kind` does now (0: on no list), in place: the ListStore's small changes. Not for
   * user agents, whose exact entries share case-folded keys across lists (the store rebuilds for those).
   */
  setEffect(kind: Exclude<ListKind, 'user_agent'>, entry: string, effect: number): void {
    this.anyEffect |= effect;
    if (kind === 'ip') {
      if (effect === 0) this.ips.delete(entry);
      else this.ips.set(entry, effect);
      return;
    }
    const map = kind === 'user' ? this.users : kind === 'api_key' ? this.apiKeys : this.tenants;
    if (effect === 0) map.delete(entry);
    else map.set(entry, effect);
  }

  /** The OR of the effects of every list `ctx` is on (0: on none). Allocates nothing. */
  effects(ctx: RequestContext): number {
    if (this.anyEffect === 0) return 0;
    let mask = this.ips.size > 0 ? this.ips.union(ctx.ip) : 0;
    if (ctx.user !== undefined) mask |= this.users.get(ctx.user) ?? 0;
    if (ctx.apiKey !== undefined) mask |= this.apiKeys.get(ctx.apiKey) ?? 0;
    if (ctx.tenant !== undefined) mask |= this.tenants.get(ctx.tenant) ?? 0;
    if (this.agents.size > 0 || this.agentPatterns.length > 0) {
      const agent = headerValue(ctx, 'user-agent');
      if (agent !== undefined) {
        mask |= this.agents.get(agent.toLowerCase()) ?? 0;
        for (const p of this.agentPatterns)
          if ((mask & p.effect) !== p.effect && p.test.test(agent)) mask |= p.effect;
      }
    }
    return mask;
  }
}

function addTo(map: Map<string, number>, key: string, effect: number): void {
  map.set(key, (map.get(key) ?? 0) | effect);
}
