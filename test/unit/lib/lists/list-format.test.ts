// List files as operators download or write them: plain lists with comments, FireHOL netsets, Spamhaus
// DROP (text and JSON lines), identities and user agents; a bad line refuses the file, named by file:line.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCidr, parseCidr } from '../../../../src/lib/lists/ip-address.js';
import { ListFileError, parseListText } from '../../../../src/lib/lists/list-format.js';

function refusal(fn: () => unknown): ListFileError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ListFileError) return err;
    throw err;
  }
  throw new Error('expected a ListFileError');
}

describe('address list formats', () => {
  it('reads a FireHOL netset: header comments, addresses and ranges', () => {
    const netset = [
      '#',
      '# firehol_level1',
      '# ipv4 hash:net ipset',
      '#',
      '# Maintainer      : FireHOL',
      '',
      '0.0.0.0/8',
      '1.10.16.0/20',
      '5.188.10.4',
      '',
    ].join('\n');
    expect(parseListText(netset, 'ip', 'firehol_level1.netset')).toEqual([
      '0.0.0.0/8',
      '1.10.16.0/20',
      '5.188.10.4',
    ]);
  });

  it('reads Spamhaus DROP text ("range ; SBL id") with its ";" header, and CRLF line ends', () => {
    const drop =
      '; Spamhaus DROP List 2025/01/01\r\n; Last-Modified: x\r\n1.10.16.0/20 ; SBL256894\r\n1.19.0.0/16 ; SBL434604\r\n';
    expect(parseListText(drop, 'ip', 'drop.txt')).toEqual(['1.10.16.0/20', '1.19.0.0/16']);
  });

  it('reads Spamhaus drop_v6.json (one JSON object a line; the metadata line has no range)', () => {
    const json = [
      '{"cidr":"2001:678:738::/48","sblid":"SBL625371","rir":"ripencc"}',
      '{"cidr":"2a06:5280::/29","sblid":"SBL607766","rir":"ripencc"}',
      '{"type":"metadata","timestamp":1735689600,"size":2,"records":2,"copyright":"…"}',
    ].join('\n');
    expect(parseListText(json, 'ip', 'drop_v6.json')).toEqual(['2001:678:738::/48', '2a06:5280::/29']);
  });

  it('writes every entry canonically and drops duplicates: host bits cleared, IPv6 compressed, mapped IPv4 unwrapped', () => {
    const text = '10.1.2.3/8\n10.0.0.0/8 # again\n2001:DB8:0:0::/32\n::ffff:192.0.2.9\n192.0.2.9\n';
    expect(parseListText(text, 'ip', 'x')).toEqual(['10.0.0.0/8', '2001:db8::/32', '192.0.2.9']);
  });

  it('refuses the whole file, naming file and line of every bad entry', () => {
    const err = refusal(() =>
      parseListText(
        '# ok\n10.0.0.0/8\n10.0.0.300\n\n2001:db8::/129\n1.2.3.4 5.6.7.8\n',
        'ip',
        '/etc/edge/bad.netset',
      ),
    );
    expect(err.message).toBe(
      [
        '/etc/edge/bad.netset:3: "10.0.0.300" is not an IPv4 or IPv6 address',
        '/etc/edge/bad.netset:5: prefix /129 must be a whole number from 0 to 128',
        '/etc/edge/bad.netset:6: "1.2.3.4 5.6.7.8": one address or range a line',
      ].join('\n'),
    );
  });

  it('names at most ten bad lines and counts the rest', () => {
    const err = refusal(() => parseListText('x\n'.repeat(25), 'ip', 'f'));
    expect(err.problems).toHaveLength(25);
    expect(err.message.split('\n')).toHaveLength(11);
    expect(err.message).toContain('… and 15 more bad lines');
  });

  it('round-trips any ranges written with comments, blank lines and either line end', () => {
    const range = fc.oneof(
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, b]) => `${a}/${b}`),
      fc.tuple(fc.ipV6(), fc.integer({ min: 96, max: 128 })).map(([a, b]) => `${a}/${b}`),
      fc.ipV4(),
    );
    const line = fc.tuple(
      range,
      fc.constantFrom('', ' # note', ' ; SBL1', '\t#x', '  '),
      fc.constantFrom('', '# comment\n', '; c\n', '\n', '   \n'),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.boolean(), (lines, crlf) => {
        const eol = crlf ? '\r\n' : '\n';
        const text = lines.map(([r, tail, before]) => `${before.replace(/\n/g, eol)}${r}${tail}`).join(eol);
        const expected = [
          ...new Set(
            lines.map(([r]) => formatCidr(parseCidr(r) as Exclude<ReturnType<typeof parseCidr>, string>)),
          ),
        ];
        expect(parseListText(text, 'ip', 'f')).toEqual(expected);
      }),
    );
  });
});

describe('identity and user-agent lists', () => {
  it.each([
    ['api_key', 'k-123\n# revoked keys\nk-456 # left in March\n;old\n', ['k-123', 'k-456']],
    ['user', 'alice\nbob@example.com\n\n', ['alice', 'bob@example.com']],
    ['tenant', 'team-a\nteam-b ; legacy\n', ['team-a', 'team-b']],
    [
      'user_agent',
      '# scrapers\nMozilla/5.0 (compatible; BadBot/1.0; +http://x/#about)\n*python-requests*\n',
      ['Mozilla/5.0 (compatible; BadBot/1.0; +http://x/#about)', '*python-requests*'],
    ],
  ] as const)('%s list', (kind, text, expected) => {
    expect(parseListText(text, kind, 'f')).toEqual(expected);
  });

  it('refuses a tenant id Mimir would refuse, and an identity with spaces', () => {
    expect(refusal(() => parseListText('team a\n', 'tenant', 't.txt')).message).toBe(
      't.txt:1: "team a": one tenant a line, without spaces',
    );
    expect(refusal(() => parseListText('ok\n__mimir_cluster\n', 'tenant', 't.txt')).message).toBe(
      't.txt:2: "__mimir_cluster" is not a tenant id: "__mimir_cluster" is reserved',
    );
    expect(refusal(() => parseListText(`${'k'.repeat(2000)}\n`, 'api_key', 'k')).message).toBe(
      'k:1: 2000 characters long, more than 1024',
    );
  });
});
