// The allocation-free address parser behind the list tries: it must accept exactly what node:net's isIP()
// accepts, read every spelling of an address as the same words, and fold IPv4-mapped IPv6 into IPv4.

import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCidr, parseCidr, parseIpInto } from '../../../../src/lib/lists/ip-address.js';

function canonical(text: string): string | undefined {
  const c = parseCidr(text);
  return typeof c === 'string' ? undefined : formatCidr(c);
}

/** The WHATWG URL parser's canonical IPv6 text (RFC 5952), an independent oracle for the words. */
function urlCanonicalV6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

describe('parseIpInto', () => {
  it('reads every IPv4 address as isIP() does, as one word', () => {
    fc.assert(
      fc.property(fc.ipV4(), (a) => {
        const out = new Uint32Array(4);
        expect(parseIpInto(a, out)).toBe(4);
        const [p0, p1, p2, p3] = a.split('.').map(Number) as [number, number, number, number];
        expect(out[0]).toBe((((p0 * 256 + p1) * 256 + p2) * 256 + p3) >>> 0);
      }),
    );
  });

  it('reads every IPv6 spelling fast-check makes (with "::" and dotted tails) to the same address as URL', () => {
    fc.assert(
      fc.property(fc.ipV6(), (a) => {
        const text = canonical(a);
        expect(text).toBeDefined();
        const oracle = urlCanonicalV6(a);
        if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(oracle)) {
          // IPv4-mapped: the lists read it as the IPv4 address it carries.
          expect(text).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        } else {
          expect(text).toBe(oracle);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a mutated address exactly when isIP() does (never throws)', () => {
    const mutation = fc.tuple(
      fc.oneof(fc.ipV4(), fc.ipV6()),
      fc.array(
        fc.tuple(fc.nat(64), fc.constantFrom('', '0', 'f', 'g', ':', '::', '.', '%', '%e', '1.2', ' ', '00')),
        { maxLength: 3 },
      ),
    );
    fc.assert(
      fc.property(mutation, ([address, edits]) => {
        let text = address;
        for (const [at, insert] of edits) {
          const i = at % (text.length + 1);
          // An empty insert deletes the character there instead.
          text =
            insert === '' ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + insert + text.slice(i);
        }
        const family = parseIpInto(text, new Uint32Array(4));
        const expected = isIP(text);
        expect(family === 0 ? 0 : 1).toBe(expected === 0 ? 0 : 1);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['192.0.2.1', 4],
    ['0.0.0.0', 4],
    ['255.255.255.255', 4],
    ['::ffff:192.0.2.1', 4],
    ['::FFFF:c000:0201', 4],
    ['fe80::1%eth0', 6],
    ['::', 6],
    ['::1', 6],
    ['1::', 6],
    ['2001:db8::1:2:3:4:5', 6],
    ['256.0.0.1', 0],
    ['01.2.3.4', 0],
    ['1.2.3', 0],
    ['1.2.3.4.5', 0],
    ['1.2.3.4%eth0', 0],
    [':::', 0],
    ['1:2:3:4:5:6:7:8:9', 0],
    ['1::2::3', 0],
    ['12345::', 0],
    ['fe80::1%', 0],
    ['', 0],
    ['not an address', 0],
  ])('%s is family %d', (text, family) => {
    expect(parseIpInto(text, new Uint32Array(4))).toBe(family);
  });
});

// Cases of Node.js's own isIP() table (nodejs/node test/parallel/test-net-isip.js): our parser must agree.
describe('parseIpInto on the cases of node test-net-isip.js', () => {
  it.each([
    ['127.0.0.1', 4],
    ['x127.0.0.1', 0],
    ['example.com', 0],
    ['0000:0000:0000:0000:0000:0000:0000:0000', 6],
    ['0000:0000:0000:0000:0000:0000:0000:0000::0000', 0],
    ['1050:0:0:0:5:600:300c:326b', 6],
    ['2001:252:0:1::2008:6', 6],
    ['2001:dead:beef:1::2008:6', 6],
    ['2001::', 6],
    ['2001:dead::', 6],
    ['2001:dead:beef::', 6],
    ['2001:dead:beef:1::', 6],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6],
    [':2001:252:0:1::2008:6:', 0],
    [':2001:252:0:1::2008:6', 0],
    ['2001:252:0:1::2008:6:', 0],
    ['2001:252::1::2008:6', 0],
    ['::2001:252:1:2008:6', 6],
    ['::2001:252:1:1.1.1.1', 6],
    ['::2001:252:1:255.255.255.255', 6],
    ['::2001:252:1:255.255.255.255.76', 0],
    ['fe80::2008%eth0', 6],
    ['fe80::2008%eth0.0', 6],
    ['fe80::2008%eth0@1', 0],
    ['::anything', 0],
    ['::1', 6],
    ['::', 6],
    ['0000:0000:0000:0000:0000:0000:12345:0000', 0],
    ['0', 0],
    ['', 0],
  ] as const)('%s is family %d', (text, family) => {
    expect(parseIpInto(text, new Uint32Array(4))).toBe(family);
    expect(isIP(text)).toBe(family);
  });
});

describe('parseCidr', () => {
  it.each([
    ['192.0.2.7/24', '192.0.2.0/24'],
    ['192.0.2.7', '192.0.2.7'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:DB8:0:0:1::/32', '2001:db8::/32'],
    ['2001:db8::/129', undefined],
    ['192.0.2.0/33', undefined],
    ['192.0.2.0/-1', undefined],
    ['192.0.2.0/', undefined],
    ['192.0.2.0/24/1', undefined],
    ['::ffff:192.0.2.0/120', '192.0.2.0/24'],
    ['::ffff:192.0.2.0/64', undefined],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
  ])('%s → %s', (text, expected) => {
    expect(canonical(text)).toBe(expected);
  });

  it('names the problem', () => {
    expect(parseCidr('10.0.0.0/40')).toBe('prefix /40 must be a whole number from 0 to 32');
    expect(parseCidr('10.0.0.300')).toBe('"10.0.0.300" is not an IPv4 or IPv6 address');
  });
});
