// IP addresses and CIDR ranges (IPv4 and IPv6, IPv4-mapped IPv6 treated as IPv4) for policy matches and
// trusted proxies, on the lists' prefix trie (src/lib/lists/ip-trie.ts). Never throws on a client's address:
// a malformed one simply matches nothing.

import { isIP } from 'node:net';
import { parseCidr } from '../lists/ip-address.js';
import { IpTrie } from '../lists/ip-trie.js';

/** Why `cidr` is not an address or range, or undefined when it is one. */
export function cidrProblem(cidr: string): string | undefined {
  if (cidr.split('/').length > 2) return `${JSON.stringify(cidr)} is not an IP address or CIDR range`;
  const parsed = parseCidr(cidr);
  return typeof parsed === 'string' ? parsed : undefined;
}

/** A set of addresses and ranges; build once, match per request in time that grows with the prefix length. */
export class IpMatcher {
  private readonly trie = new IpTrie();
  readonly size: number;

  /** Throws a RangeError naming the first bad entry; validate with cidrProblem() for friendlier errors. */
  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const problem = cidrProblem(cidr);
      if (problem !== undefined) throw new RangeError(problem);
      this.trie.set(cidr, 1);
    }
    this.trie.trim();
    this.size = cidrs.length;
  }

  /** True when `ip` is in one of the ranges; false for an empty set or a malformed address. */
  has(ip: string | undefined): boolean {
    if (this.size === 0 || ip === undefined) return false;
    return this.trie.longest(ip) >= 0;
  }
}

/** The 8 groups of an IPv6 address as numbers, or undefined (handles `::` and a dotted IPv4 tail). */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const groups =
    rest === undefined
      ? left
      : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  if (groups.length !== 8) return undefined;
  if (tail.length === 2) {
    groups[6] = tail[0]!;
    groups[7] = tail[1]!;
  }
  return groups;
}

/**
 * The address a client is keyed by: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 cut to its first
 * `v6PrefixBits` bits (default 64, one customer's network) in canonical form with the prefix length.
 * Returns undefined for something that is not an address.
 */
export function clientIpKey(ip: string, v6PrefixBits = 64): string | undefined {
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return undefined;
  const groups = ipv6Groups(ip);
  if (groups === undefined) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  }
  if (v6PrefixBits >= 128) return groups.map((g) => g.toString(16)).join(':');
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, v6PrefixBits - i * 16));
    groups[i] = keep === 0 ? 0 : groups[i]! & ((0xffff << (16 - keep)) & 0xffff);
  }
  return `${groups.map((g) => g.toString(16)).join(':')}/${v6PrefixBits}`;
}

/** The plain address of `ip` (IPv4-mapped IPv6 unwrapped), or undefined for something that is not one. */
export function normalizeIp(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return undefined;
  const lower = ip.toLowerCase();
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
  return lower;
}
