// Client IP behind proxies: only trusted hops are believed, walking from the nearest hop outwards, so a
// spoofed X-Forwarded-For or Forwarded header gains a client nothing; IPv6 clients share a /64 key.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiKeyFrom, ClientIpResolver } from '../../../../src/index.js';

const proxies = new ClientIpResolver({ trustedProxies: ['10.0.0.0/8', 'fd00::/8'] });

describe('client IP', () => {
  it('ignores forwarding headers from an untrusted peer', () => {
    expect(proxies.resolve('198.51.100.7', { 'x-forwarded-for': '1.2.3.4' })?.ip).toBe('198.51.100.7');
  });

  it('takes the first untrusted address from the right, so a spoofed left-most entry is ignored', () => {
    const r = proxies.resolve('10.0.0.2', { 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 10.1.1.1' });
    expect(r?.ip).toBe('203.0.113.9');
  });

  it('reads RFC 7239 Forwarded when configured, with quoted IPv6 and ports', () => {
    const r = new ClientIpResolver({ trustedProxies: ['10.0.0.0/8'], forwardedHeader: 'forwarded' });
    const headers = { forwarded: 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.9' };
    expect(r.resolve('10.0.0.1', headers)?.ip).toBe('2001:db8:cafe::17');
    // The other header is not read at all.
    expect(r.resolve('10.0.0.1', { 'x-forwarded-for': '192.0.2.1' })?.ip).toBe('10.0.0.1');
  });

  it('stops at an unreadable entry instead of believing what lies beyond it', () => {
    expect(proxies.resolve('10.0.0.2', { 'x-forwarded-for': '192.0.2.5, garbage, 10.0.0.3' })?.ip).toBe(
      '10.0.0.3',
    );
  });

  it('keys IPv6 clients by /64 (configurable) and unwraps IPv4-mapped addresses', () => {
    const a = proxies.resolve('2001:db8:1:2:aaaa::1', {});
    const b = proxies.resolve('2001:db8:1:2:bbbb::9', {});
    expect(a?.key).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(b?.key).toBe(a?.key);
    expect(proxies.resolve('2001:db8:1:3::1', {})?.key).not.toBe(a?.key);
    expect(new ClientIpResolver({ ipv6PrefixBits: 48 }).resolve('2001:db8:1:2::1', {})?.key).toBe(
      '2001:db8:1:0:0:0:0:0/48',
    );
    expect(proxies.resolve('::ffff:192.0.2.44', {})).toEqual({ ip: '192.0.2.44', key: '192.0.2.44' });
  });

  it('refuses a bad trusted-proxy entry by name', () => {
    expect(() => new ClientIpResolver({ trustedProxies: ['10.0.0.0/40'] })).toThrow(/\/40/);
  });

  it('whatever an untrusted client writes in the header, its own address is what counts (property)', () => {
    const ipv4 = fc.ipV4();
    fc.assert(
      fc.property(ipv4, fc.array(fc.oneof(ipv4, fc.ipV6(), fc.string()), { maxLength: 6 }), (peer, chain) => {
        fc.pre(!peer.startsWith('10.'));
        expect(proxies.resolve(peer, { 'x-forwarded-for': chain.join(', ') })?.ip).toBe(peer);
      }),
    );
  });

  it('behind trusted proxies the answer is an address from the chain or the peer, never a trusted hop unless all are (property)', () => {
    const ipv4 = fc.ipV4();
    fc.assert(
      fc.property(fc.array(ipv4, { minLength: 1, maxLength: 6 }), (chain) => {
        const ip = proxies.resolve('10.9.9.9', { 'x-forwarded-for': chain.join(',') })!.ip;
        const untrusted = chain.filter((a) => !a.startsWith('10.'));
        if (untrusted.length === 0) expect(ip).toBe(chain[0]);
        else expect(ip).toBe(untrusted[untrusted.length - 1]);
      }),
    );
  });
});

describe('API key', () => {
  it('reads the header, or an Authorization scheme when enabled', () => {
    expect(apiKeyFrom({ 'x-api-key': ' k-123 ' })).toBe('k-123');
    expect(apiKeyFrom({ authorization: 'ApiKey k-9' })).toBeUndefined();
    expect(apiKeyFrom({ authorization: 'ApiKey k-9' }, { authorizationScheme: 'ApiKey' })).toBe('k-9');
    expect(apiKeyFrom({ 'x-client-key': 'c' }, { header: 'X-Client-Key' })).toBe('c');
    expect(apiKeyFrom({ 'x-api-key': 'x'.repeat(600) })).toBeUndefined();
  });
});
