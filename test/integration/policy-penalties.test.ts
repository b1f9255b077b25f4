// Progressive penalties end to end, the same on every entry point: the proxy, Envoy ext_authz, the authz
// endpoint (AUTHZ_HTTP_PATH, alone and behind a real NGINX auth_request) and the library middleware. A
// client refused twice by the login policy is blocked: 403 TEMPORARILY_BLOCKED with Retry-After up to the
// block's end, on every path, nothing forwarded; the admin API lists the block (viewer), lifts it
// (operator only, audited), and /metrics counts it. Time is held, so the block's end is exact.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { withRateLimit } from '../../src/index.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient, headerMap } from '../helpers/grpc-client.js';
import { startProcess, waitForHttp } from '../helpers/child-process.js';
import { requireNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';

const POLICIES = `
policies:
  - name: login
    match: { scope: ip, path: /login }
    limit: { algorithm: fixed_window, limit: 1, window: 1h }
    penalty: { after: 2, window: 1m, durations: [10m, 1h] }
`;
const VIEWER = 'viewer-token-0123456789';
const OPERATOR = 'operator-token-0123456789';
const T0 = Date.parse('2026-03-01T10:00:00Z');

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

interface Clock {
  now: number;
}

async function setUp(): Promise<{
  edge: EdgeUnderTest;
  forwarded: () => number;
  clock: Clock;
  upstreamUrl: string;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'penalties-'));
  writeFileSync(join(dir, 'policies.yaml'), POLICIES);
  writeFileSync(
    join(dir, 'tokens.yaml'),
    [
      `- { name: vera, token: ${VIEWER}, role: viewer }`,
      `- { name: otto, token: ${OPERATOR}, role: operator }`,
    ].join('\n'),
  );
  const upstream = await startRecordingUpstream();
  const clock = { now: T0 };
  const edge = await startEdge(
    upstream.url,
    {
      POLICY_FILE: join(dir, 'policies.yaml'),
      TRUSTED_PROXIES: '127.0.0.1',
      ADMIN_TOKEN: '',
      ADMIN_TOKENS_FILE: join(dir, 'tokens.yaml'),
    },
    undefined,
    () => clock.now,
  );
  stops.push(
    () => upstream.close(),
    () => edge.stop(),
  );
  return { edge, forwarded: () => upstream.requests.length, clock, upstreamUrl: upstream.url };
}

async function proxyGet(edge: EdgeUnderTest, path: string, client: string) {
  const res = await request(`${edge.proxyUrl}${path}`, { headers: { 'x-forwarded-for': client } });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function api(
  edge: EdgeUnderTest,
  path: string,
  token: string,
  method: 'GET' | 'DELETE' = 'GET',
  body?: unknown,
) {
  const res = await request(`${edge.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

interface BlockJson {
  id: string;
  policy: string;
  scope: string;
  identity: string;
  level: number;
  reason: string;
  started_at: string;
  ends_at: string;
  remaining_seconds: number;
}

function body(text: string): { error: { code: string; details: Record<string, unknown> } } {
  return JSON.parse(text) as { error: { code: string; details: Record<string, unknown> } };
}

function metric(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

describe('progressive penalties on the proxy, with the admin API', () => {
  it('blocks a client refused twice: 403 with Retry-After on every path until the end, listed, lifted and audited', async () => {
    const { edge, forwarded, clock } = await setUp();
    const client = '198.51.100.30';
    expect((await proxyGet(edge, '/login', client)).status).toBe(200);
    expect((await proxyGet(edge, '/login', client)).status).toBe(429);
    expect((await proxyGet(edge, '/login', client)).status).toBe(429);
    const sent = forwarded();

    clock.now = T0 + 60_000;
    const blocked = await proxyGet(edge, '/anything/else', client);
    expect(blocked.status).toBe(403);
    expect(blocked.headers['retry-after']).toBe('540');
    expect(body(blocked.text).error.code).toBe('TEMPORARILY_BLOCKED');
    expect(body(blocked.text).error.details).toMatchObject({ policy: 'login', retry_after_seconds: 540 });
    expect(forwarded()).toBe(sent);
    // Another client is not affected.
    expect((await proxyGet(edge, '/anything/else', '198.51.100.31')).status).toBe(200);

    // Viewer sees it; viewer cannot lift it.
    const list = await api(edge, '/api/blocks', VIEWER);
    expect(list.status).toBe(200);
    expect(list.json.penalties).toBe(true);
    const [block] = list.json.blocks as BlockJson[];
    expect(block).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) as string,
      policy: 'login',
      scope: 'ip',
      identity: client,
      level: 1,
      reason: '2 denials within 1m',
      started_at: '2026-03-01T10:00:00.000Z',
      ends_at: '2026-03-01T10:10:00.000Z',
      remaining_seconds: 540,
    });
    expect((await api(edge, `/api/blocks/${block!.id}`, VIEWER, 'DELETE')).status).toBe(403);
    expect((await api(edge, '/api/blocks/not-an-id', OPERATOR, 'DELETE')).status).toBe(400);
    expect((await api(edge, `/api/blocks/${block!.id}`, OPERATOR, 'DELETE', { reason: 7 })).status).toBe(400);

    let m = await (await request(edge.metricsUrl)).body.text();
    expect(metric(m, 'rls_policy_blocks_active')).toBe(1);
    expect(metric(m, 'rls_policy_blocks_total{policy="login",level="1"}')).toBe(1);
    expect(metric(m, 'rls_policy_decisions_total{policy="login",decision="blocked"}')).toBe(1);

    // Still blocked a millisecond before the end.
    clock.now = T0 + 600_000 - 1;
    expect((await proxyGet(edge, '/', client)).status).toBe(403);

    const lifted = await api(edge, `/api/blocks/${block!.id}`, OPERATOR, 'DELETE', {
      reason: 'false positive',
    });
    expect(lifted.status).toBe(200);
    expect(lifted.json.lifted).toMatchObject({ id: block!.id, policy: 'login', level: 1 });
    expect((await proxyGet(edge, '/', client)).status).toBe(200);
    expect((await api(edge, '/api/blocks', VIEWER)).json.blocks).toEqual([]);
    expect((await api(edge, `/api/blocks/${block!.id}`, OPERATOR, 'DELETE')).status).toBe(404);

    const audit = (await api(edge, '/api/audit', VIEWER)).json as { entries: Record<string, unknown>[] };
    const entry = audit.entries.find((e) => e['action'] === 'policy.block.lift');
    expect(entry).toMatchObject({ actor: 'otto', role: 'operator', reason: 'false positive', after: null });
    expect(entry?.['before']).toMatchObject({ policy: 'login', identity: client, level: 1 });

    m = await (await request(edge.metricsUrl)).body.text();
    expect(metric(m, 'rls_policy_blocks_active')).toBe(0);
    expect(metric(m, 'rls_policy_block_lifts_total{policy="login"}')).toBe(1);
  });

  it('climbs the ladder on a repeat offence and ends exactly at the block end', async () => {
    const { edge, clock } = await setUp();
    const client = '198.51.100.40';
    const offend = async () => {
      expect((await proxyGet(edge, '/login', client)).status).toBe(200);
      expect((await proxyGet(edge, '/login', client)).status).toBe(429);
      expect((await proxyGet(edge, '/login', client)).status).toBe(429);
    };
    await offend();
    clock.now = T0 + 600_000; // the first block (10m) is over
    expect((await proxyGet(edge, '/', client)).status).toBe(200);
    clock.now = T0 + 3_600_000; // a new window of the fixed hourly limit
    await offend();
    const second = await proxyGet(edge, '/', client);
    expect(second.status).toBe(403);
    expect(second.headers['retry-after']).toBe('3600');
    clock.now = T0 + 2 * 3_600_000;
    expect((await proxyGet(edge, '/', client)).status).toBe(200);
    const m = await (await request(edge.metricsUrl)).body.text();
    expect(metric(m, 'rls_policy_blocks_total{policy="login",level="2"}')).toBe(1);
  });
});

describe('progressive penalties on ext_authz and the authz endpoint', () => {
  it('ext_authz answers a blocked client PERMISSION_DENIED with the 403 body and Retry-After', async () => {
    const { edge } = await setUp();
    const envoy = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
    stops.push(async () => envoy.close());
    const ask = (path: string) =>
      envoy.check({ method: 'POST', path, headers: { 'x-forwarded-for': '198.51.100.50, 127.0.0.1' } });
    expect((await ask('/login')).ok_response).not.toBeNull();
    expect((await ask('/login')).denied_response?.status?.code).toBe('TooManyRequests');
    expect((await ask('/login')).denied_response?.status?.code).toBe('TooManyRequests');
    const blocked = await ask('/home');
    expect(blocked.denied_response?.status?.code).toBe('Forbidden');
    expect(headerMap(blocked.denied_response?.headers)['retry-after']).toBe('600');
    expect(body(blocked.denied_response!.body).error.code).toBe('TEMPORARILY_BLOCKED');
    // The same block holds on the proxy: one penalty box for every entry point.
    expect((await proxyGet(edge, '/', '198.51.100.50')).status).toBe(403);
  });

  it('the authz endpoint answers a blocked client 403 with Retry-After, and 200 again once lifted', async () => {
    const { edge } = await setUp();
    const ask = async (uri: string) => {
      const res = await request(`${edge.proxyUrl}/_edge/authz`, {
        headers: { 'x-original-uri': uri, 'x-original-method': 'GET', 'x-forwarded-for': '198.51.100.60' },
      });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    };
    expect((await ask('/login')).status).toBe(200);
    expect((await ask('/login')).status).toBe(429);
    expect((await ask('/login')).status).toBe(429);
    const blocked = await ask('/home');
    expect(blocked.status).toBe(403);
    expect(blocked.headers['retry-after']).toBe('600');
    expect(body(blocked.text).error.code).toBe('TEMPORARILY_BLOCKED');
    const [block] = (await api(edge, '/api/blocks', VIEWER)).json.blocks as BlockJson[];
    expect((await api(edge, `/api/blocks/${block!.id}`, OPERATOR, 'DELETE')).status).toBe(200);
    expect((await ask('/home')).status).toBe(200);
  });
});

/**
 * Debian's nginx in front of the edge's authz endpoint (auth_request), configured as docs/policies.md says:
 * a 403 from the edge is answered 403 with the edge's Retry-After; other refusals are mapped back.
 */
async function startNginxAuthz(edge: EdgeUnderTest, upstreamPort: number): Promise<string> {
  const prefix = mkdtempSync(join(tmpdir(), 'penalties-nginx-'));
  chmodSync(prefix, 0o755); // workers may run as www-data when the master is root
  mkdirSync(join(prefix, 'temp'), { mode: 0o777 });
  chmodSync(join(prefix, 'temp'), 0o777);
  const port = await freePort();
  const edgeHost = new URL(edge.proxyUrl).host;
  const temp = join(prefix, 'temp');
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${temp}/body; proxy_temp_path ${temp}/proxy; fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi; scgi_temp_path ${temp}/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /_nginx_ready { return 204; }
    location / {
      auth_request /_edge_authz;
      auth_request_set $edge_status $upstream_status;
      auth_request_set $edge_retry_after $upstream_http_retry_after;
      error_page 403 = @edge_blocked;
      error_page 500 = @edge_denied;
      proxy_pass http://127.0.0.1:${upstreamPort};
    }
    location = /_edge_authz {
      internal;
      proxy_pass http://${edgeHost}/_edge/authz;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
    location @edge_blocked {
      add_header Retry-After $edge_retry_after always;
      return 403 "blocked by the edge\n";
    }
    location @edge_denied {
      add_header Retry-After $edge_retry_after always;
      if ($edge_status = 429) { return 429 "rate limited by the edge\n"; }
      return 503;
    }
  }
}
`,
  );
  const errorLog = join(prefix, 'error.log');
  const proc = startProcess({
    name: 'nginx',
    command: requireNginx(),
    args: [
      '-p',
      prefix,
      '-e',
      errorLog,
      '-c',
      join(prefix, 'nginx.conf'),
      '-g',
      `daemon off; pid ${join(prefix, 'nginx.pid')};`,
    ],
    afterStop: async () => rmSync(prefix, { recursive: true, force: true }),
  });
  stops.push(async () => void (await proc.stop()));
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/_nginx_ready`, 10_000, { process: proc });
  return url;
}

describe('progressive penalties behind NGINX auth_request', () => {
  it('NGINX refuses a blocked client 403 with the Retry-After the authz endpoint gave', async () => {
    const { edge, forwarded, upstreamUrl } = await setUp();
    const upstreamPort = Number(new URL(upstreamUrl).port);
    const nginx = await startNginxAuthz(edge, upstreamPort);
    const get = async (path: string) => {
      const res = await request(`${nginx}${path}`, { headers: { 'x-forwarded-for': '198.51.100.80' } });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    };
    expect((await get('/login')).status).toBe(200);
    expect((await get('/login')).status).toBe(429);
    expect((await get('/login')).status).toBe(429);
    const sent = forwarded();
    const blocked = await get('/home');
    expect(blocked.status).toBe(403);
    expect(blocked.headers['retry-after']).toBe('600');
    expect(blocked.text).toBe('blocked by the edge\n');
    expect(forwarded()).toBe(sent);
    // Another client behind the same NGINX is not affected.
    const other = await request(`${nginx}/home`, { headers: { 'x-forwarded-for': '198.51.100.81' } });
    await other.body.dump();
    expect(other.statusCode).toBe(200);
  }, 30_000);
});

describe('progressive penalties in the library middleware', () => {
  it('node:http middleware blocks the client with 403 and Retry-After, never calling the handler', async () => {
    let now = T0;
    let handled = 0;
    const server = createServer(
      withRateLimit(
        (_req, res) => {
          handled++;
          res.end('ok');
        },
        { policies: POLICIES, clientIp: { trustedProxies: ['127.0.0.1'] }, now: () => now },
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = async (path: string) => {
      const res = await request(`${url}${path}`, { headers: { 'x-forwarded-for': '198.51.100.70' } });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    };
    expect((await get('/login')).status).toBe(200);
    expect((await get('/login')).status).toBe(429);
    expect((await get('/login')).status).toBe(429);
    now = T0 + 1000;
    const blocked = await get('/home');
    expect(blocked.status).toBe(403);
    expect(blocked.headers['retry-after']).toBe('599');
    expect(body(blocked.text).error.code).toBe('TEMPORARILY_BLOCKED');
    expect(handled).toBe(1);
    now = T0 + 600_000;
    expect((await get('/home')).status).toBe(200);
  });
});
