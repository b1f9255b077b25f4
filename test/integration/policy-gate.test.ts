// POLICY_FILE end to end over real sockets: a real upstream behind the edge's proxy, ext_authz and the
// authz endpoint; a policy set that limits /api/expensive per API key and blocks a CIDR. Asserts what a
// client sees (status, RateLimit headers, JSON body, nothing forwarded) and what an operator sees (metrics).

import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { SignJWT } from 'jose';
import { loadSettings } from '../../src/settings/settings.js';
import { startService } from '../../src/app/service.js';
import { createLogger } from '../../src/observe/logger.js';
import { ConfigError } from '../../src/lib/config-error.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient, headerMap } from '../helpers/grpc-client.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

// The test client connects from 127.0.0.1, a trusted proxy here, so X-Forwarded-For names the client.
const POLICIES = `
block:
  ips: ["203.0.113.0/24"]
policies:
  - name: expensive-per-key
    match: { scope: api_key, path: /api/expensive }
    limit: { algorithm: fixed_window, limit: 3, window: 1h }
  - name: watch-cheap
    shadow: true
    match: { scope: ip, path: /api/cheap }
    limit: { algorithm: fixed_window, limit: 1, window: 1h }
`;

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

function policyFile(text: string): { path: string; write(t: string): void } {
  const path = join(mkdtempSync(join(tmpdir(), 'policy-gate-')), 'policies.yaml');
  writeFileSync(path, text);
  // Written aside and renamed into place, as deploy tools (and ConfigMap mounts) replace files: the 50 ms
  // poll must never read a half-written file, which would count one more refused reload than the test made.
  return {
    path,
    write: (t) => {
      writeFileSync(`${path}.tmp`, t);
      renameSync(`${path}.tmp`, path);
    },
  };
}

async function setUp(
  policies = POLICIES,
  env: Record<string, string> = {},
  overrides?: string,
): Promise<{ edge: EdgeUnderTest; upstream: RecordingUpstream; file: ReturnType<typeof policyFile> }> {
  const file = policyFile(policies);
  const upstream = await startRecordingUpstream();
  upstream.respond.body = 'from upstream';
  const edge = await startEdge(
    upstream.url,
    { POLICY_FILE: file.path, TRUSTED_PROXIES: '127.0.0.1', ...env },
    overrides,
  );
  stops.push(
    () => upstream.close(),
    () => edge.stop(),
  );
  return { edge, upstream, file };
}

async function get(edge: EdgeUnderTest, path: string, headers: Record<string, string> = {}) {
  const res = await request(`${edge.proxyUrl}${path}`, { headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function metricsText(edge: EdgeUnderTest): Promise<string> {
  return (await request(edge.metricsUrl)).body.text();
}

function metric(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

describe('POLICY_FILE on the proxy', () => {
  it('limits /api/expensive per API key: RateLimit headers, then 429 JSON + Retry-After, never forwarded', async () => {
    const { edge, upstream } = await setUp();
    const key = { 'x-api-key': 'key-a' };
    for (let i = 0; i < 3; i++) {
      const ok = await get(edge, '/api/expensive?page=1', key);
      expect(ok.status).toBe(200);
      expect(ok.text).toBe('from upstream');
      expect(ok.headers['ratelimit-policy']).toBe('"expensive-per-key";q=3;w=3600');
      expect(ok.headers['ratelimit']).toMatch(new RegExp(`^"expensive-per-key";r=${2 - i};t=\\d+$`));
    }
    const denied = await get(edge, '/api/expensive', key);
    expect(denied.status).toBe(429);
    expect(denied.headers['content-type']).toBe('application/json');
    expect(Number(denied.headers['retry-after'])).toBeGreaterThan(0);
    expect(denied.headers['ratelimit']).toMatch(/^"expensive-per-key";r=0;t=\d+$/);
    const body = JSON.parse(denied.text) as {
      error: {
        code: string;
        message: string;
        details: Record<string, unknown>;
        recovery_suggestions: string[];
      };
    };
    expect(body.error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(body.error.details).toMatchObject({ policy: 'expensive-per-key', limit: 3, window_seconds: 3600 });
    expect(body.error.details['retry_after_seconds']).toBe(Number(denied.headers['retry-after']));
    expect(body.error.recovery_suggestions.length).toBeGreaterThan(0);
    expect(upstream.requests.filter((r) => r.url.startsWith('/api/expensive'))).toHaveLength(3);

    // Another key has its own counter; other paths are not limited by this policy.
    expect((await get(edge, '/api/expensive', { 'x-api-key': 'key-b' })).status).toBe(200);
    expect((await get(edge, '/api/other', key)).status).toBe(200);

    const m = await metricsText(edge);
    expect(metric(m, 'rls_policy_decisions_total{policy="expensive-per-key",decision="allowed"}')).toBe(4);
    expect(metric(m, 'rls_policy_decisions_total{policy="expensive-per-key",decision="denied"}')).toBe(1);
  });

  it('answers a blocked CIDR 403 on every path, behind a trusted proxy, and forwards nothing', async () => {
    const { edge, upstream } = await setUp();
    for (const path of ['/api/cheap', '/api/expensive', '/']) {
      const res = await get(edge, path, { 'x-forwarded-for': '203.0.113.77' });
      expect(res.status).toBe(403);
      expect((JSON.parse(res.text) as { error: { code: string } }).error.code).toBe('ACCESS_BLOCKED');
    }
    // A client outside the block list, even one claiming a blocked address further left, passes.
    expect((await get(edge, '/api/cheap', { 'x-forwarded-for': '203.0.113.77, 198.51.100.1' })).status).toBe(
      200,
    );
    expect(upstream.requests).toHaveLength(1);
    expect(
      metric(await metricsText(edge), 'rls_policy_decisions_total{policy="block_list",decision="blocked"}'),
    ).toBe(3);
  });

  it('does not trust X-Forwarded-For from a peer outside TRUSTED_PROXIES', async () => {
    const { edge } = await setUp(POLICIES, { TRUSTED_PROXIES: '10.0.0.0/8' });
    expect((await get(edge, '/api/cheap', { 'x-forwarded-for': '203.0.113.77' })).status).toBe(200);
  });

  it('only counts shadow policies: never refuses, but reports shadow_denied', async () => {
    const { edge, upstream } = await setUp();
    for (let i = 0; i < 3; i++)
      expect((await get(edge, '/api/cheap', { 'x-forwarded-for': '198.51.100.9' })).status).toBe(200);
    expect(upstream.requests).toHaveLength(3);
    const m = await metricsText(edge);
    expect(metric(m, 'rls_policy_decisions_total{policy="watch-cheap",decision="shadow_allowed"}')).toBe(1);
    expect(metric(m, 'rls_policy_decisions_total{policy="watch-cheap",decision="shadow_denied"}')).toBe(2);
  });

  it('keeps Mimir limits on remote writes: the policy refuses first, and Mimir still refuses after it allows', async () => {
    const { edge, upstream } = await setUp(
      `
policies:
  - name: writes-per-tenant
    match: { scope: tenant, path: /api/v1/push }
    limit: { algorithm: fixed_window, limit: 2, window: 1h }
`,
      {},
      'overrides:\n  t:\n    ingestion_rate: 1\n    ingestion_burst_size: 5\n',
    );
    const push = async (series: number) => {
      const res = await request(`${edge.proxyUrl}/api/v1/push`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-protobuf',
          'content-encoding': 'snappy',
          'x-scope-orgid': 't',
        },
        body: snappyBody(manySeries(series, 1)),
      });
      return { status: res.statusCode, text: await res.body.text() };
    };
    expect((await push(1)).status).toBe(200);
    // Allowed by the policy, refused by Mimir's ingestion burst of 5: the Mimir text answer.
    const mimir = await push(20);
    expect(mimir.status).toBe(429);
    expect(mimir.text).toContain('ingestion rate limit');
    // The policy's third write: refused by the policy with its JSON body.
    const policy = await push(1);
    expect(policy.status).toBe(429);
    expect((JSON.parse(policy.text) as { error: { details: { policy: string } } }).error.details.policy).toBe(
      'writes-per-tenant',
    );
    expect(upstream.requests).toHaveLength(1);
  });
});

describe('POLICY_FILE identities', () => {
  it('counts user-scoped policies per verified JWT user (JWT_*), and a forged token by client IP', async () => {
    const secret = 'policy-gate-test-secret-of-32-bytes!';
    const { edge } = await setUp(
      `
policies:
  - name: per-user
    match: { scope: user, path: /api/me }
    limit: { algorithm: fixed_window, limit: 1, window: 1h }
`,
      { JWT_SECRET: secret, JWT_USER_CLAIM: 'company_id' },
    );
    const token = (companyId: string, key = secret) =>
      new SignJWT({ company_id: companyId })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(key));
    const asUser = async (jwt: string, ip: string) =>
      (await get(edge, '/api/me', { authorization: `Bearer ${jwt}`, 'x-forwarded-for': ip })).status;
    const alice = await token('alice');
    // Same user from two addresses: one counter.
    expect(await asUser(alice, '198.51.100.1')).toBe(200);
    expect(await asUser(alice, '198.51.100.2')).toBe(429);
    // Another user: a counter of its own.
    expect(await asUser(await token('bob'), '198.51.100.1')).toBe(200);
    // A forged token names no user: counted per IP, so each address gets its own single request.
    const forged = await token('alice', 'not-the-secret-not-the-secret-!!');
    expect(await asUser(forged, '198.51.100.3')).toBe(200);
    expect(await asUser(forged, '198.51.100.3')).toBe(429);
    expect(await asUser(forged, '198.51.100.4')).toBe(200);
  });
});

describe('examples/policies.yaml', () => {
  it('starts the edge as shipped and blocks its example CIDR', async () => {
    const { readFileSync } = await import('node:fs');
    const { edge } = await setUp(readFileSync(join(process.cwd(), 'examples/policies.yaml'), 'utf8'));
    expect((await get(edge, '/', { 'x-forwarded-for': '203.0.113.1' })).status).toBe(403);
    expect((await get(edge, '/', { 'x-forwarded-for': '198.51.100.1' })).headers['ratelimit-policy']).toBe(
      '"per-ip";q=600;w=60',
    );
  });
});

describe('POLICY_FILE reload', () => {
  it('applies a changed file, keeps counters of unchanged policies, and keeps the last good set on a bad file', async () => {
    const { edge, file } = await setUp(POLICIES, { POLICY_RELOAD_INTERVAL: '50ms' });
    const key = { 'x-api-key': 'key-r' };
    for (let i = 0; i < 3; i++) expect((await get(edge, '/api/expensive', key)).status).toBe(200);
    expect((await get(edge, '/api/expensive', key)).status).toBe(429);

    // A new block entry: applied live; the unchanged limit keeps its count (no fresh quota).
    file.write(POLICIES.replace('"203.0.113.0/24"', '"203.0.113.0/24", "192.0.2.0/24"'));
    await edge.service.reloadPolicies();
    expect((await get(edge, '/', { 'x-forwarded-for': '192.0.2.5' })).status).toBe(403);
    expect((await get(edge, '/api/expensive', key)).status).toBe(429);

    // A bad file is refused whole: the last good set (with 192.0.2.0/24 blocked) stays in force.
    file.write(POLICIES.replace('limit: 3', 'limit: -3'));
    await edge.service.reloadPolicies();
    expect((await get(edge, '/', { 'x-forwarded-for': '192.0.2.5' })).status).toBe(403);
    expect((await get(edge, '/api/expensive', key)).status).toBe(429);
    expect(metric(await metricsText(edge), 'rls_policy_reloads_total{result="error"}')).toBe(1);

    // Fixed, and found by polling alone: a raised limit is a changed limit, counted afresh.
    file.write(POLICIES.replace('limit: 3', 'limit: 10'));
    const deadline = Date.now() + 5000;
    let status = 429;
    while (status === 429 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await get(edge, '/api/expensive', key)).status;
    }
    expect(status).toBe(200);
    expect((await get(edge, '/', { 'x-forwarded-for': '192.0.2.5' })).status).toBe(200);
    expect(metric(await metricsText(edge), 'rls_policy_reloads_total{result="applied"}')).toBe(2);
  });

  it('refuses to start with a bad file, naming every problem by its path', async () => {
    const file = policyFile(`
block: { ips: ["10.0.0.0/33"] }
policies:
  - name: a
    limit: { algorithm: token_bucket, rate: 1, burst: -1 }
  - name: a
    extends: missing
`);
    const settings = loadSettings(
      {
        POLICY_FILE: file.path,
        BIND_ADDRESS: '127.0.0.1',
        PROXY_PORT: '0',
        ADMIN_PORT: '0',
        METRICS_PORT: '0',
        EXT_AUTHZ_PORT: '0',
        RATELIMIT_PORT: '0',
        ADMIN_TOKEN: 'policy-gate-test-admin-token',
      },
      [],
    );
    const started = startService(settings, { log: createLogger('silent', 'json') });
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    const message = await started.then(
      () => '',
      (err: Error) => err.message,
    );
    expect(message).toContain(file.path);
    expect(message).toContain('policies[0].limit.burst');
    expect(message).toContain('policies[1].name: "a" is already the name of policies[0]');
    expect(message).toContain('policies[1].extends: no policy is named "missing"');
    expect(message).toContain('block.ips[0]');
  });
});

describe('POLICY_FILE on ext_authz and the authz endpoint', () => {
  it('denies over Envoy ext_authz with the 429 JSON body and headers, and 403 for a blocked client', async () => {
    const { edge } = await setUp();
    const client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
    stops.push(async () => client.close());
    const ask = (headers: Record<string, string>) =>
      client.check({ method: 'GET', path: '/api/expensive?x=1', headers });
    for (let i = 0; i < 3; i++) expect((await ask({ 'x-api-key': 'envoy-key' })).ok_response).not.toBeNull();
    const denied = await ask({ 'x-api-key': 'envoy-key' });
    expect(denied.denied_response?.status?.code).toBe('TooManyRequests');
    const headers = headerMap(denied.denied_response?.headers);
    expect(Number(headers['retry-after'])).toBeGreaterThan(0);
    expect(headers['ratelimit']).toMatch(/^"expensive-per-key";r=0;t=\d+$/);
    expect((JSON.parse(denied.denied_response!.body) as { error: { code: string } }).error.code).toBe(
      'RATE_LIMIT_EXCEEDED',
    );
    // Envoy (use_remote_address) appends the peer it saw; 127.0.0.1 is trusted, so the client is left of it.
    const blocked = await client.check({
      method: 'GET',
      path: '/',
      headers: { 'x-forwarded-for': '203.0.113.8, 127.0.0.1' },
    });
    expect(blocked.denied_response?.status?.code).toBe('Forbidden');
    // The proxy shares the same counters: the key is spent there too.
    expect((await get(edge, '/api/expensive', { 'x-api-key': 'envoy-key' })).status).toBe(429);
  });

  it('answers the authz endpoint 200 with RateLimit headers, then the 429 JSON denial', async () => {
    const { edge } = await setUp();
    const ask = async () => {
      const res = await request(`${edge.proxyUrl}/_edge/authz`, {
        headers: { 'x-original-uri': '/api/expensive', 'x-original-method': 'GET', 'x-api-key': 'nginx-key' },
      });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    };
    for (let i = 0; i < 3; i++) {
      const ok = await ask();
      expect(ok.status).toBe(200);
      expect(ok.headers['ratelimit-policy']).toBe('"expensive-per-key";q=3;w=3600');
    }
    const denied = await ask();
    expect(denied.status).toBe(429);
    expect(Number(denied.headers['retry-after'])).toBeGreaterThan(0);
    expect((JSON.parse(denied.text) as { error: { code: string } }).error.code).toBe('RATE_LIMIT_EXCEEDED');
  });
});
