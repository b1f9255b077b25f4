// Lists from files, end to end over real sockets: one block list read from a FireHOL-style netset refuses
// the same client on all four entry points (proxy, Envoy ext_authz, the NGINX authz endpoint, the library
// middleware); a reputation class is throttled harder; the file reloads on change and a bad file keeps the
// last good list; the admin API adds and removes entries, audited and versioned, seen at once by the proxy.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPolicySet, withRateLimit } from '../../src/index.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient } from '../helpers/grpc-client.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { manySeries, remoteWriteHeaders, snappyBody } from '../helpers/write-request.js';

// List files are named relative to the policy file. The test client connects from 127.0.0.1, a trusted
// proxy here, so X-Forwarded-For names the client.
const POLICIES = `
lists:
  - { name: bad-nets, kind: ip, action: block, file: bad.netset }
  - { name: tor-exits, kind: ip, class: tor, file: tor.txt }
policies:
  - name: tor
    match: { scope: ip, class: [tor] }
    limit: { algorithm: fixed_window, limit: 1, window: 1h }
  - name: everyone
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 100, window: 1h }
`;
const NETSET = '#\n# bad networks (FireHOL netset)\n#\n203.0.113.0/24\n2001:db8:bad::/48\n';
const TOR = '; exits\n198.51.100.0/24 ; tor\n';
const BLOCKED = '203.0.113.8';
const CLEAN = '192.0.2.44';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

function listDir(): { dir: string; write(name: string, text: string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'policy-lists-'));
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  write('policies.yaml', POLICIES);
  write('bad.netset', NETSET);
  write('tor.txt', TOR);
  return { dir, write };
}

async function setUp(): Promise<{
  edge: EdgeUnderTest;
  upstream: RecordingUpstream;
  files: ReturnType<typeof listDir>;
}> {
  const files = listDir();
  const upstream = await startRecordingUpstream();
  const edge = await startEdge(upstream.url, {
    POLICY_FILE: join(files.dir, 'policies.yaml'),
    POLICY_RELOAD_INTERVAL: '100ms',
    TRUSTED_PROXIES: '127.0.0.1',
  });
  stops.push(
    () => upstream.close(),
    () => edge.stop(),
  );
  return { edge, upstream, files };
}

async function viaProxy(edge: EdgeUnderTest, client: string): Promise<{ status: number; body: string }> {
  const res = await request(`${edge.proxyUrl}/api/data`, { headers: { 'x-forwarded-for': client } });
  return { status: res.statusCode, body: await res.body.text() };
}

async function viaAuthz(edge: EdgeUnderTest, client: string): Promise<number> {
  const res = await request(`${edge.proxyUrl}/_edge/authz`, {
    headers: { 'x-original-uri': '/api/data', 'x-original-method': 'GET', 'x-forwarded-for': client },
  });
  await res.body.text();
  return res.statusCode;
}

async function admin(
  edge: EdgeUnderTest,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`${edge.adminUrl}${path}`, {
    method,
    headers: { ...edge.adminHeaders, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

async function metricsText(edge: EdgeUnderTest): Promise<string> {
  return (await request(edge.metricsUrl)).body.text();
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a block list read from a file', () => {
  it('refuses the listed client on the proxy, ext_authz, the authz endpoint and the library middleware alike', async () => {
    const { edge, upstream, files } = await setUp();

    // 1. The proxy: 403 ACCESS_BLOCKED, nothing forwarded; a clean client goes through.
    const blocked = await viaProxy(edge, BLOCKED);
    expect(blocked.status).toBe(403);
    expect((JSON.parse(blocked.body) as { error: { code: string } }).error.code).toBe('ACCESS_BLOCKED');
    expect(upstream.requests).toHaveLength(0);
    expect((await viaProxy(edge, CLEAN)).status).toBe(200);
    expect((await viaProxy(edge, '2001:db8:bad:7::1')).status).toBe(403);

    // 2. Envoy ext_authz (use_remote_address appends the peer Envoy saw, a trusted proxy here).
    const envoy = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
    stops.push(async () => envoy.close());
    const check = (client: string) =>
      envoy.check({
        method: 'GET',
        path: '/api/data',
        headers: { 'x-forwarded-for': `${client}, 127.0.0.1` },
      });
    expect((await check(BLOCKED)).denied_response?.status?.code).toBe('Forbidden');
    expect((await check(CLEAN)).ok_response).not.toBeNull();

    // 3. The NGINX authz endpoint on the proxy port.
    expect(await viaAuthz(edge, BLOCKED)).toBe(403);
    expect(await viaAuthz(edge, CLEAN)).toBe(200);

    // 4. The library middleware, with the same policy file and list files.
    const set = loadPolicySet(POLICIES, { baseDir: files.dir });
    const server = createServer(
      withRateLimit((_req, res) => res.end('app'), {
        policies: set,
        clientIp: { trustedProxies: ['127.0.0.1'] },
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    stops.push(() => new Promise((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/data`;
    const lib = async (client: string) => {
      const res = await request(url, { headers: { 'x-forwarded-for': client } });
      return { status: res.statusCode, body: await res.body.text() };
    };
    const libBlocked = await lib(BLOCKED);
    expect(libBlocked.status).toBe(403);
    expect(libBlocked.body).toContain('ACCESS_BLOCKED');
    expect(await lib(CLEAN)).toEqual({ status: 200, body: 'app' });
  });

  it('refuses a remote write from the listed client on the proxy, ext_authz and the authz endpoint alike', async () => {
    const { edge, upstream } = await setUp();
    const body = snappyBody(manySeries(3));
    const write = async (client: string) => {
      const res = await request(`${edge.proxyUrl}/api/v1/push`, {
        method: 'POST',
        headers: { ...remoteWriteHeaders('team-a'), 'x-forwarded-for': client },
        body,
      });
      await res.body.text();
      return res.statusCode;
    };
    // 1. The proxy: the list comes before Mimir's limits; nothing of the blocked write is forwarded.
    expect(await write(BLOCKED)).toBe(403);
    expect(upstream.requests).toHaveLength(0);
    expect(await write(CLEAN)).toBe(200);

    // 2. Envoy ext_authz: the same write, body and all.
    const envoy = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
    stops.push(async () => envoy.close());
    const check = (client: string) =>
      envoy.check({
        method: 'POST',
        path: '/api/v1/push',
        headers: { ...remoteWriteHeaders('team-a'), 'x-forwarded-for': `${client}, 127.0.0.1` },
        body,
      });
    expect((await check(BLOCKED)).denied_response?.status?.code).toBe('Forbidden');
    expect((await check(CLEAN)).ok_response).not.toBeNull();

    // 3. The NGINX authz endpoint, asked about a write.
    const authz = async (client: string) => {
      const res = await request(`${edge.proxyUrl}/_edge/authz`, {
        headers: {
          'x-original-uri': '/api/v1/push',
          'x-original-method': 'POST',
          'x-scope-orgid': 'team-a',
          'x-forwarded-for': client,
        },
      });
      await res.body.text();
      return res.statusCode;
    };
    expect(await authz(BLOCKED)).toBe(403);
    expect(await authz(CLEAN)).toBe(200);
  });

  it('reloads the file on change, and keeps the last good list when a line is bad', async () => {
    const { edge, files } = await setUp();
    files.write('bad.netset', '# moved\n192.0.2.0/24\n');
    await eventually(async () => (await viaProxy(edge, CLEAN)).status === 403, 'the new netset');
    expect((await viaProxy(edge, BLOCKED)).status).toBe(200);

    files.write('bad.netset', '192.0.2.0/24\n198.51.100.999\n');
    await eventually(
      async () =>
        (await metricsText(edge)).includes('rls_list_reloads_total{list="bad-nets",result="error"} 1'),
      'the refusal to be counted',
    );
    expect((await viaProxy(edge, CLEAN)).status).toBe(403);
    expect(edge.logs()).toMatch(
      /list file refused, keeping the last good entries of bad-nets: .*bad\.netset:2: /,
    );
    const lists = (await admin(edge, 'GET', '/api/lists')).json['lists'] as Record<string, unknown>[];
    const bad = lists.find((l) => l['name'] === 'bad-nets')!;
    expect(bad['size']).toBe(1);
    expect((bad['file_error'] as { message: string }).message).toContain('bad.netset:2: "198.51.100.999"');
    const text = await metricsText(edge);
    expect(text).toContain('rls_list_entries{list="bad-nets"} 1');
    expect(text).toContain('rls_list_reloads_total{list="bad-nets",result="applied"} 1');
  });
});

describe('reputation classes', () => {
  it('throttles the tor class harder than everyone else', async () => {
    const { edge } = await setUp();
    expect((await viaProxy(edge, '198.51.100.7')).status).toBe(200);
    const second = await viaProxy(edge, '198.51.100.7');
    expect(second.status).toBe(429);
    expect(second.body).toContain('"tor"');
    for (let i = 0; i < 3; i++) expect((await viaProxy(edge, CLEAN)).status).toBe(200);
  });
});

describe('runtime list changes through the admin API', () => {
  it('adds and removes entries, each change a new version in the audit log; bad input changes nothing', async () => {
    const { edge } = await setUp();
    const before = (await admin(edge, 'GET', '/api/lists/bad-nets')).json;
    expect(before['entries']).toEqual(['203.0.113.0/24', '2001:db8:bad::/48']);

    const added = await admin(edge, 'POST', '/api/lists/bad-nets/entries', {
      entries: ['192.0.2.44', '203.0.113.0/24'],
      reason: 'scraping',
    });
    expect(added.status).toBe(200);
    expect(added.json).toMatchObject({ list: 'bad-nets', added: ['192.0.2.44'], size: 3 });
    expect(added.json['version']).toBe((before['version'] as number) + 1);
    expect((await viaProxy(edge, CLEAN)).status).toBe(403);

    const bad = await admin(edge, 'POST', '/api/lists/bad-nets/entries', { entries: ['10.0.0.1', 'nope'] });
    expect(bad.status).toBe(400);
    expect(bad.json['error']).toContain('entries[1]: "nope" is not an IPv4 or IPv6 address');
    expect((await viaProxy(edge, '10.0.0.1')).status).toBe(200);
    expect((await admin(edge, 'POST', '/api/lists/missing/entries', { entries: ['10.0.0.1'] })).status).toBe(
      404,
    );

    const removed = await admin(edge, 'DELETE', '/api/lists/bad-nets/entries', {
      entries: ['192.0.2.44', '203.0.113.0/24'],
    });
    expect(removed.json).toMatchObject({ removed: ['192.0.2.44', '203.0.113.0/24'], size: 1 });
    expect((await viaProxy(edge, CLEAN)).status).toBe(200);
    expect((await viaProxy(edge, BLOCKED)).status).toBe(200);

    const audit = (await admin(edge, 'GET', '/api/audit')).json['entries'] as Record<string, unknown>[];
    const listEntries = audit.filter((e) => String(e['action']).startsWith('list.entries.'));
    expect(listEntries.map((e) => [e['action'], e['diff'], e['source_version']])).toEqual([
      [
        'list.entries.remove',
        { list: 'bad-nets', removed: ['192.0.2.44', '203.0.113.0/24'] },
        (added.json['version'] as number) + 1,
      ],
      ['list.entries.add', { list: 'bad-nets', added: ['192.0.2.44'] }, added.json['version']],
    ]);
    expect(listEntries[1]!['reason']).toBe('scraping');
    expect(await metricsText(edge)).toContain('rls_list_changes_total{list="bad-nets",operation="add"} 1');
  });
});

describe('runtime list changes with STATE_DIR', () => {
  it('come back after a restart; a saved entry of a list that is gone is skipped', async () => {
    const files = listDir();
    const stateDir = mkdtempSync(join(tmpdir(), 'policy-lists-state-'));
    const upstream = await startRecordingUpstream();
    stops.push(() => upstream.close());
    const env = {
      POLICY_FILE: join(files.dir, 'policies.yaml'),
      TRUSTED_PROXIES: '127.0.0.1',
      STATE_DIR: stateDir,
    };
    const first = await startEdge(upstream.url, env);
    await admin(first, 'POST', '/api/lists/bad-nets/entries', { entries: ['192.0.2.44'] });
    await admin(first, 'DELETE', '/api/lists/bad-nets/entries', { entries: ['203.0.113.0/24'] });
    await admin(first, 'POST', '/api/lists/tor-exits/entries', { entries: ['192.0.2.99'] });
    await first.stop();

    // The second start no longer has the tor list: its saved entry is skipped, the others come back.
    files.write(
      'policies.yaml',
      POLICIES.replace('  - { name: tor-exits, kind: ip, class: tor, file: tor.txt }\n', '').replace(
        'class: [tor]',
        'path: /never',
      ),
    );
    const second = await startEdge(upstream.url, { ...env, LOG_LEVEL: 'info' });
    stops.push(() => second.stop());
    expect((await viaProxy(second, CLEAN)).status).toBe(403);
    expect((await viaProxy(second, BLOCKED)).status).toBe(200);
    const info = (await admin(second, 'GET', '/api/lists/bad-nets')).json;
    expect(info).toMatchObject({ size: 2, added: 1, removed: 1 });
    expect(second.logs()).toContain('runtime changes of list tor-exits not restored');
  });
});
