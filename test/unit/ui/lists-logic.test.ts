// The Lists page's logic: the entries box, paging, where an entry comes from, the filter over the loaded page
// (an address finds the ranges covering it, as the edge's trie would), and the outcome lines.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { covers, parseIpRange } from '../../../ui/src/logic/ip-match.js';
import {
  changeDoneText,
  changeFailedText,
  clampOffset,
  countsText,
  entryOrigin,
  filterEntries,
  pageOf,
  parseEntriesText,
} from '../../../ui/src/logic/list-entries.js';
import { formatCidr, parseCidr } from '../../../src/lib/lists/ip-address.js';
import { ListStore } from '../../../src/lib/lists/list-store.js';
import type { ListDefinition } from '../../../src/lib/lists/list-definitions.js';

describe('parseEntriesText', () => {
  it('reads addresses one or more a line, by spaces or commas, with # comments, each once', () => {
    expect(parseEntriesText('192.0.2.44\n 2001:db8:bad::/48 , 10.0.0.0/8\n\n', 'ip')).toEqual({
      entries: ['192.0.2.44', '2001:db8:bad::/48', '10.0.0.0/8'],
      duplicates: 0,
      problem: null,
    });
    expect(parseEntriesText('198.51.100.7 # scraper\n198.51.100.7\r\n# a note', 'ip')).toEqual({
      entries: ['198.51.100.7'],
      duplicates: 1,
      problem: null,
    });
  });

  it('keeps a user agent whole, one a line; identities split on spaces only', () => {
    expect(
      parseEntriesText('Mozilla/5.0 (X11; Linux) #1\n *python-requests* \n', 'user_agent').entries,
    ).toEqual(['Mozilla/5.0 (X11; Linux) #1', '*python-requests*']);
    expect(parseEntriesText('key,1 key#2\nteam-a', 'api_key').entries).toEqual(['key,1', 'key#2', 'team-a']);
  });

  it('says why nothing can be sent: nothing typed, or more than the API takes at once', () => {
    expect(parseEntriesText('  \n # only a comment', 'ip').problem).toBe('Type at least one entry.');
    const many = Array.from({ length: 10_001 }, (_, i) => `10.${i >> 8}.${i & 255}.1`).join('\n');
    expect(parseEntriesText(many, 'ip').problem).toMatch(/10001 entries: at most 10000/);
    expect(parseEntriesText(many.split('\n').slice(0, 10_000).join('\n'), 'ip').problem).toBeNull();
  });
});

describe('pageOf and clampOffset', () => {
  it('names the entries shown and the neighbouring pages', () => {
    expect(pageOf(0, 100, 0)).toEqual({ first: 0, last: 0, prev: null, next: null, lastOffset: 0 });
    expect(pageOf(0, 100, 250)).toEqual({ first: 1, last: 100, prev: null, next: 100, lastOffset: 200 });
    expect(pageOf(200, 100, 250)).toEqual({ first: 201, last: 250, prev: 100, next: null, lastOffset: 200 });
    expect(pageOf(0, 100, 100)).toMatchObject({ next: null, lastOffset: 0 });
    // Past the end (the list shrank): nothing shown, and Previous leads to the last page.
    expect(pageOf(500, 100, 250)).toMatchObject({ first: 0, last: 0, prev: 200, next: null });
  });

  it('pages cover every entry exactly once, and no offset is past the last page', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 700 }), (size, limit) => {
        let seen = 0;
        let offset: number | null = 0;
        while (offset !== null) {
          const p = pageOf(offset, limit, size);
          if (size > 0) expect(p.first).toBe(seen + 1);
          seen = p.last;
          offset = p.next;
        }
        expect(seen).toBe(size);
        expect(clampOffset(size + limit * 3, limit, size)).toBe(pageOf(0, limit, size).lastOffset);
        expect(clampOffset(-1, limit, size)).toBe(0);
      }),
    );
  });
});

describe('entryOrigin', () => {
  it('agrees with the list store: file and policy-set entries first, then the runtime additions', () => {
    const def = {
      name: 'bad-nets',
      kind: 'ip',
      action: 'block',
      class: undefined,
      effect: 1,
      file: 'bad.netset',
      fileEntries: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'],
      inline: ['10.0.0.0/8'],
    } satisfies ListDefinition;
    const store = new ListStore([def]);
    store.add('bad-nets', ['192.0.2.44', '2001:db8::/32']);
    store.remove('bad-nets', ['198.51.100.0/24']);
    const info = store.info('bad-nets')!;
    const origins = store
      .entries('bad-nets')!
      .map((e, i) => [e, entryOrigin(i, info.size, info.added)] as const);
    expect(origins).toEqual([
      ['192.0.2.0/24', 'file'],
      ['203.0.113.0/24', 'file'],
      ['10.0.0.0/8', 'file'],
      ['192.0.2.44', 'runtime'],
      ['2001:db8::/32', 'runtime'],
    ]);
  });
});

describe('parseIpRange and covers', () => {
  it('reads addresses and ranges as the edge does', () => {
    expect(parseIpRange('192.0.2.9')).toEqual({ width: 32, bits: 0xc0000209n, prefix: 32 });
    expect(parseIpRange('10.1.2.3/8')).toEqual({ width: 32, bits: 0x0a000000n, prefix: 8 });
    expect(parseIpRange('::ffff:192.0.2.9')).toEqual(parseIpRange('192.0.2.9'));
    expect(parseIpRange('2001:db8::1')?.bits).toBe(0x20010db8000000000000000000000001n);
    expect(parseIpRange('::')).toEqual({ width: 128, bits: 0n, prefix: 128 });
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.256',
      '01.2.3.4',
      '1.2.3.4/33',
      '::1/129',
      '1::2::3',
      'abc',
      'g::1',
    ])
      expect(parseIpRange(bad), bad).toBeNull();
  });

  it('covers exactly as the edge canonicalises ranges (src/lib/lists/ip-address.ts)', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    fc.assert(
      fc.property(v4, fc.integer({ min: 0, max: 32 }), v4, (a, prefix, b) => {
        const mine = parseIpRange(`${a}/${prefix}`)!;
        const edge = parseCidr(`${a}/${prefix}`);
        expect(typeof edge).not.toBe('string');
        expect(parseIpRange(formatCidr(edge as Exclude<typeof edge, string>))).toEqual(mine);
        const addr = parseIpRange(b)!;
        const inside =
          BigInt.asUintN(32, addr.bits) >> BigInt(32 - prefix) === mine.bits >> BigInt(32 - prefix);
        expect(covers(mine, addr)).toBe(inside);
      }),
    );
  });

  it('never lets a range of one family cover the other, nor a narrower range a wider one', () => {
    expect(covers(parseIpRange('::/0')!, parseIpRange('192.0.2.1')!)).toBe(false);
    expect(covers(parseIpRange('0.0.0.0/0')!, parseIpRange('2001:db8::1')!)).toBe(false);
    expect(covers(parseIpRange('10.0.0.0/16')!, parseIpRange('10.0.0.0/8')!)).toBe(false);
    expect(covers(parseIpRange('10.0.0.0/8')!, parseIpRange('10.0.0.0/16')!)).toBe(true);
  });
});

describe('filterEntries', () => {
  const page = ['10.0.0.0/8', '192.0.2.44/32', '2001:db8:bad::/48', '198.51.100.0/24'];

  it('on an IP list, finds the ranges that cover an address or range, keeping list positions', () => {
    expect(filterEntries(page, 1000, '10.1.2.3', 'ip')).toEqual({
      rows: [{ entry: '10.0.0.0/8', index: 1000 }],
      mode: 'covers',
    });
    expect(filterEntries(page, 0, '2001:db8:bad:1::9', 'ip').rows.map((r) => r.entry)).toEqual([
      '2001:db8:bad::/48',
    ]);
    expect(filterEntries(page, 0, '198.51.100.0/25', 'ip').rows.map((r) => r.index)).toEqual([3]);
    expect(filterEntries(page, 0, '203.0.113.1', 'ip')).toEqual({ rows: [], mode: 'covers' });
  });

  it('reads anything else as text, and an empty box as every row', () => {
    expect(filterEntries(page, 0, '  ', 'ip').mode).toBe('all');
    expect(filterEntries(page, 0, 'DB8', 'ip')).toEqual({
      rows: [{ entry: '2001:db8:bad::/48', index: 2 }],
      mode: 'text',
    });
    expect(filterEntries(['team-a', 'team-b'], 0, 'B', 'tenant').rows).toEqual([
      { entry: 'team-b', index: 1 },
    ]);
  });

  it('on a user-agent list, a pattern entry matches the user agent typed', () => {
    const agents = ['*python-requests*', 'BadBot/1.0'];
    expect(filterEntries(agents, 0, 'python-requests/2.31', 'user_agent').rows.map((r) => r.entry)).toEqual([
      '*python-requests*',
    ]);
    expect(filterEntries(agents, 0, 'badbot', 'user_agent').rows.map((r) => r.entry)).toEqual(['BadBot/1.0']);
  });
});

describe('outcome and count texts', () => {
  it('says what a change did, with its version and audit entry', () => {
    expect(
      changeDoneText('add', {
        list: 'bad-nets',
        version: 4,
        size: 3,
        audit_id: 17,
        changed: ['192.0.2.44/32'],
      }),
    ).toBe('Added 1 entry to bad-nets (192.0.2.44/32): version 4, 3 entries in force; audit entry 17.');
    const many = Array.from({ length: 7 }, (_, i) => `10.0.0.${i}/32`);
    expect(changeDoneText('remove', { list: 'l', version: 9, size: 1200, audit_id: 3, changed: many })).toBe(
      'Removed 7 entries from l (10.0.0.0/32, 10.0.0.1/32, 10.0.0.2/32, 10.0.0.3/32, 10.0.0.4/32 and 2 more): version 9, 1,200 entries in force; audit entry 3.',
    );
    expect(changeDoneText('add', { list: 'l', version: 2, size: 1, audit_id: 4, changed: [] })).toMatch(
      /^Nothing changed: every entry is already on l/,
    );
  });

  it("keeps the API's words for a refusal and says what the status means", () => {
    expect(
      changeFailedText(400, 'not a valid ip entry: entries[0]: "nope" is not an IPv4 or IPv6 address'),
    ).toBe(
      'Refused, nothing changed (400): not a valid ip entry: entries[0]: "nope" is not an IPv4 or IPv6 address',
    );
    expect(changeFailedText(503, 'list l not changed: Redis did not take the change')).toMatch(
      /^Redis cannot take the change now \(503\), try again in a few seconds: list l not changed/,
    );
    expect(changeFailedText(503, 'list l not changed', 5)).toBe(
      'Redis cannot take the change now (503), try again in 5 s: list l not changed',
    );
    expect(changeFailedText(0, 'the admin API cannot be reached')).toBe('the admin API cannot be reached');
  });

  it('splits the entries in force by where they come from', () => {
    expect(countsText(1204, 3, 0, true)).toEqual({
      base: '1,201 from the file',
      runtime: '+3 added at runtime',
    });
    expect(countsText(2, 0, 1, false)).toEqual({
      base: '2 from the policy set',
      runtime: '−1 removed at runtime',
    });
    expect(countsText(5, 0, 0, true).runtime).toBe('no runtime changes');
  });
});
