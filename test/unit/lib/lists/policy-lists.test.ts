// Named lists in a policy set, as a user writes them: block and allow lists read from files, reputation
// classes that policies throttle differently, user-agent patterns, runtime changes, and clear refusals.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicySet, PolicyEngine, PolicySetError } from '../../../../src/index.js';
import type { RequestContext } from '../../../../src/index.js';
import { ListChangeError } from '../../../../src/lib/lists/list-store.js';

const T0 = Date.parse('2025-06-01T12:00:00Z');

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lists-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function allowedCount(e: PolicyEngine, ctx: RequestContext, n: number): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (e.evaluate(ctx, T0).allowed) allowed++;
  return allowed;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof PolicySetError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected a PolicySetError');
}

const GENEROUS = `
policies:
  - name: everyone
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 5, window: 1m }
`;

describe('lists from files', () => {
  it('blocks the addresses of a FireHOL netset and a Spamhaus DROP file, found next to the policy file', () => {
    const dir = dirWith({
      'level1.netset': '# firehol_level1\n192.0.2.0/24\n2001:db8:bad::/48\n',
      'drop.txt': '; Spamhaus DROP\n198.51.100.0/24 ; SBL1\n',
    });
    const e = new PolicyEngine(
      loadPolicySet(
        `
lists:
  - { name: firehol, kind: ip, action: block, file: level1.netset }
  - { name: drop, kind: ip, action: block, file: drop.txt }
${GENEROUS}`,
        { baseDir: dir },
      ),
    );
    for (const ip of ['192.0.2.9', '::ffff:192.0.2.9', '2001:db8:bad:1::7', '198.51.100.200'])
      expect(e.evaluate({ ip }, T0).outcome).toBe('blocked');
    expect(e.evaluate({ ip: '203.0.113.1' }, T0).outcome).toBe('allowed');
    expect(e.evaluate({ ip: 'garbage' }, T0).outcome).toBe('allowed');
  });

  it('allow-lists API keys from a file, and a block list wins over an allow list', () => {
    const dir = dirWith({ 'partners.txt': '# partner keys\nk-partner\nk-both\n' });
    const e = new PolicyEngine(
      loadPolicySet(
        `
lists:
  - { name: partners, kind: api_key, action: allow, file: ${join(dir, 'partners.txt')} }
  - { name: revoked, kind: api_key, action: block, entries: [k-both] }
policies:
  - name: per-key
    match: { scope: api_key }
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
`,
      ),
    );
    expect(allowedCount(e, { apiKey: 'k-partner' }, 5)).toBe(5);
    expect(e.evaluate({ apiKey: 'k-partner' }, T0).outcome).toBe('allow_listed');
    expect(e.evaluate({ apiKey: 'k-both' }, T0).outcome).toBe('blocked');
    expect(allowedCount(e, { apiKey: 'k-other' }, 5)).toBe(1);
  });

  it('blocks user agents, exactly (ignoring case) or by a "*" pattern', () => {
    const e = new PolicyEngine(
      loadPolicySet(`
lists:
  - name: scrapers
    kind: user_agent
    action: block
    entries: ['*python-requests*', 'BadBot/1.0']
${GENEROUS}`),
    );
    const ua = (agent: string): RequestContext => ({ ip: '203.0.113.1', headers: { 'user-agent': agent } });
    expect(e.evaluate(ua('python-requests/2.31.0'), T0).outcome).toBe('blocked');
    expect(e.evaluate(ua('badbot/1.0'), T0).outcome).toBe('blocked');
    expect(e.evaluate(ua('BadBot/1.0 extra'), T0).outcome).toBe('allowed');
    expect(e.evaluate(ua('curl/8.0'), T0).outcome).toBe('allowed');
  });
});

describe('reputation classes', () => {
  it('throttles addresses of class tor harder than everyone else', () => {
    const dir = dirWith({ 'tor-exits.txt': '185.220.101.0/24\n' });
    const e = new PolicyEngine(
      loadPolicySet(
        `
lists:
  - { name: tor-exits, kind: ip, class: tor, file: tor-exits.txt }
  - { name: vpn, kind: ip, class: vpn, entries: [203.0.113.0/24] }
policies:
  - name: anonymisers
    match: { scope: ip, class: [tor, vpn] }
    limit: { algorithm: fixed_window, limit: 1, window: 1m }
    overrides: [everyone]
  - name: everyone
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 5, window: 1m }
`,
        { baseDir: dir },
      ),
    );
    expect(allowedCount(e, { ip: '185.220.101.7' }, 10)).toBe(1);
    expect(allowedCount(e, { ip: '203.0.113.9' }, 10)).toBe(1);
    expect(allowedCount(e, { ip: '198.51.100.1' }, 10)).toBe(5);
    const denied = e.evaluate({ ip: '185.220.101.7' }, T0);
    expect(denied.decision?.policy).toBe('anonymisers');
  });
});

describe('refusals name the problem', () => {
  it('a bad line of a list file is named by file and line; the set is refused', () => {
    const dir = dirWith({ 'bad.netset': '10.0.0.0/8\n10.0.0.0/99\n' });
    expect(
      problems(() =>
        loadPolicySet(
          `
lists: [{ name: bad, kind: ip, action: block, file: bad.netset }]
policies: []`,
          { baseDir: dir },
        ),
      ),
    ).toEqual([
      `lists[0].file: refused:\n    ${join(dir, 'bad.netset')}:2: prefix /99 must be a whole number from 0 to 32`,
    ]);
  });

  it('an unreadable file, a list that does nothing, a duplicate name, an unknown class, a bad kind', () => {
    expect(
      problems(() =>
        loadPolicySet(`
lists:
  - { name: gone, kind: ip, action: block, file: /nonexistent/list.txt }
  - { name: idle, kind: user }
  - { name: gone, kind: tenant, action: allow }
  - { name: keys, kind: api_key, action: block, entries: ['has space'] }
policies:
  - name: p
    match: { class: [tor] }
    limit: unlimited
`),
      ),
    ).toEqual([
      'lists[0].file: cannot read /nonexistent/list.txt: ENOENT',
      'lists[1]: give an action (allow or block), a class (e.g. class: tor), or both',
      'lists[2].name: "gone" is already the name of lists[0]',
      'lists[3].entries[0]: "has space": one api_key a line, without spaces',
      'policies[0].match.class[0]: no list has class "tor"',
    ]);
    expect(
      problems(() => loadPolicySet('lists: [{ name: x, kind: asn, action: block }]\npolicies: []'))[0],
    ).toMatch(/^lists\[0\]\.kind: /);
  });
});

describe('runtime changes', () => {
  const yaml = `
lists:
  - { name: bad-ips, kind: ip, action: block, entries: [192.0.2.0/24] }
${GENEROUS}`;

  it('adds and removes entries (file ones too), each change a new version; no-ops change nothing', () => {
    const e = new PolicyEngine(loadPolicySet(yaml));
    const v1 = e.lists.info('bad-ips')!.version;
    expect(e.lists.add('bad-ips', ['198.51.100.7', '192.0.2.1/24'])).toEqual({
      changed: ['198.51.100.7'],
      version: v1 + 1,
    });
    expect(e.evaluate({ ip: '198.51.100.7' }, T0).outcome).toBe('blocked');
    expect(e.lists.remove('bad-ips', ['192.0.2.0/24'])).toEqual({
      changed: ['192.0.2.0/24'],
      version: v1 + 2,
    });
    expect(e.evaluate({ ip: '192.0.2.1' }, T0).outcome).toBe('allowed');
    expect(e.lists.remove('bad-ips', ['10.0.0.0/8']).version).toBe(v1 + 2);
    expect(e.lists.entries('bad-ips')).toEqual(['198.51.100.7']);
    expect(e.lists.info('bad-ips')).toMatchObject({ size: 1, added: 1, removed: 1 });
  });

  it('keeps runtime changes across a policy reload, and refuses an unknown list or a bad entry whole', () => {
    const e = new PolicyEngine(loadPolicySet(yaml));
    e.lists.add('bad-ips', ['198.51.100.7']);
    e.replace(loadPolicySet(yaml));
    expect(e.evaluate({ ip: '198.51.100.7' }, T0).outcome).toBe('blocked');
    expect(() => e.lists.add('nope', ['1.2.3.4'])).toThrow(ListChangeError);
    expect(() => e.lists.add('bad-ips', ['10.0.0.1', 'not-an-ip'])).toThrow(
      'not a valid ip entry: entries[1]: "not-an-ip" is not an IPv4 or IPv6 address',
    );
    expect(e.evaluate({ ip: '10.0.0.1' }, T0).outcome).toBe('allowed');
  });

  it('a file reload replaces the file entries and keeps runtime ones', () => {
    const dir = dirWith({ 'l.txt': '192.0.2.1\n' });
    const e = new PolicyEngine(
      loadPolicySet(`lists: [{ name: l, kind: ip, action: block, file: l.txt }]\n${GENEROUS}`, {
        baseDir: dir,
      }),
    );
    e.lists.add('l', ['203.0.113.5']);
    expect(e.lists.setFileEntries('l', ['192.0.2.2'])).toBe(true);
    expect(e.lists.setFileEntries('l', ['192.0.2.2'])).toBe(false);
    expect(e.evaluate({ ip: '192.0.2.1' }, T0).outcome).toBe('allowed');
    expect(e.evaluate({ ip: '192.0.2.2' }, T0).outcome).toBe('blocked');
    expect(e.evaluate({ ip: '203.0.113.5' }, T0).outcome).toBe('blocked');
  });
});
