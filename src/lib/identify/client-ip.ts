// The client's address behind trusted proxies: headers (X-Forwarded-For or RFC 7239 Forwarded) are
// believed only for hops that are themselves trusted, walking from the nearest hop outwards, so a client
// cannot spoof its address through an untrusted hop. IPv6 clients are keyed by prefix (/64 by default).

import { clientIpKey, IpMatcher, normalizeIp } from '../policy/ip-match.js';

export interface ClientIpOptions {
  /** Addresses and CIDR ranges of your proxies/load balancers; none means headers are never believed. */
  trustedProxies?: readonly string[];
  /** Which header trusted proxies set (default x-forwarded-for). Only that one is read. */
  forwardedHeader?: 'x-forwarded-for' | 'forwarded';
  /** Bits of an IPv6 address that identify one client (default 64: a customer's network). */
  ipv6PrefixBits?: number;
}

export interface ClientIp {
  /** The client's address. */
  ip: string;
  /** What per-IP limits count by: the address, or its IPv6 prefix. */
  key: string;
}

type HeaderValue = string | readonly string[] | undefined;

/** Addresses from X-Forwarded-For, left (client) to right (nearest proxy); junk entries as ''. */
function fromXForwardedFor(value: HeaderValue): string[] {
  const text = typeof value === 'string' ? value : (value ?? []).join(',');
  return text.split(',').map((entry) => hostOnly(entry.trim()));
}

/** Addresses from Forwarded's `for=` parameters, left to right; obfuscated or unknown ones as ''. */
function fromForwarded(value: HeaderValue): string[] {
  const text = typeof value === 'string' ? value : (value ?? []).join(',');
  const out: string[] = [];
  for (const element of text.split(',')) {
    let found = '';
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      found = hostOnly(
        pair
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, ''),
      );
    }
    out.push(found);
  }
  return out;
}

/** The address without port or brackets ("[2001:db8::1]:443" → "2001:db8::1"), or '' if it is not one. */
function hostOnly(entry: string): string {
  let host = entry;
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']'));
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(host)) host = host.slice(0, host.indexOf(':'));
  return normalizeIp(host) ?? '';
}

export class ClientIpResolver {
  private readonly trusted: IpMatcher;
  private readonly header: 'x-forwarded-for' | 'forwarded';
  private readonly prefixBits: number;

  /** Throws a RangeError naming a bad trusted-proxy entry. */
  constructor(options: ClientIpOptions = {}) {
    this.trusted = new IpMatcher(options.trustedProxies ?? []);
    this.header = options.forwardedHeader ?? 'x-forwarded-for';
    this.prefixBits = options.ipv6PrefixBits ?? 64;
    if (!Number.isInteger(this.prefixBits) || this.prefixBits < 1 || this.prefixBits > 128) {
      throw new RangeError(
        `ipv6PrefixBits must be a whole number from 1 to 128, got ${options.ipv6PrefixBits}`,
      );
    }
  }

  /**
   * The client of a request that reached us from `remoteAddress` with `headers` (lower-case names).
   * Undefined only when the socket address itself is unusable.
   */
  resolve(
    remoteAddress: string | undefined,
    headers: Readonly<Record<string, HeaderValue>>,
  ): ClientIp | undefined {
    let client = remoteAddress === undefined ? undefined : normalizeIp(remoteAddress);
    if (client === undefined) return undefined;
    if (this.trusted.size > 0 && this.trusted.has(client)) {
      const raw = headers[this.header];
      const chain =
        raw === undefined ? [] : this.header === 'forwarded' ? fromForwarded(raw) : fromXForwardedFor(raw);
      // Nearest hop first: each trusted hop vouches for the address to its left.
      for (let i = chain.length - 1; i >= 0; i--) {
        const hop = chain[i]!;
        if (hop === '') break; // unreadable: believe nothing further out
        client = hop;
        if (!this.trusted.has(hop)) break;
      }
    }
    return { ip: client, key: clientIpKey(client, this.prefixBits) ?? client };
  }
}
