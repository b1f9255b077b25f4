// Every spelling of a remote-write path is measured like the canonical path, or refused with 400, on every
// entry point: the proxy (raw sockets, so the target reaches the edge exactly as written), Envoy ext_authz
// Check and the headers-only authz endpoint. Non-origin-form targets (`OPTIONS *`, absolute form) are
// answered 400 locally: they never reach the upstream and never count as upstream errors.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient } from '../helpers/grpc-client.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

// `small` may write at most 100 bytes: every write below is bigger, so a measured write is a 413.
const OVERRIDES = 'overrides:\n  small:\n    max_body_bytes: 100\n';
const BODY = snappyBody(manySeries(20));
// A policy on one read path: one request per tenant and hour. Its path must match every spelling too.
const POLICIES = `
policies:
  - name: limited-per-tenant
    match: { scope: tenant, path: /api/limited }
    limit: { algorithm: fixed_window, limit: 1, window: 1h }
`;

/** Spellings of /api/v1/push that must be measured as /api/v1/push. */
const MEASURED = [
  '/api/v1/push',
  '/api/v1/%70ush',
  '/api/v1/pu%73h?x=1',
  '/%61pi/v1/push',
  '//api/v1/push',
  '/api//v1///push',
  '/api/v1/push/',
  '/api/v1/./push',
  '/api/v1/zz/../push',
  '/api/v1/%2e/push',
];
/** Spellings that must be refused (400): encoded separators in a write path, and non-origin forms. */
const REFUSED = [
  '/api%2Fv1%2Fpush',
  '/api%2fv1/push',
  '/api/v1/push%2F',
  '/api%5Cv1%5Cpush',
  '/api/v1/pu%zzsh',
  'http://x/api/v1/push',
  '*',
];

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let client: EnvoyClient;
let proxyPort: number;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  const policyFile = join(mkdtempSync(join(tmpdir(), 'request-target-')), 'policies.yaml');
  writeFileSync(policyFile, POLICIES);
  edge = await startEdge(upstream.url, { POLICY_FILE: policyFile }, OVERRIDES);
  client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
  proxyPort = Number(new URL(edge.proxyUrl).port);
});
afterAll(async () => {
  client.close();
  await edge.stop();
  await upstream.close();
});

/** Sends one request with `target` written as is on the request line; resolves to the status and body. */
function rawRequest(
  method: string,
  target: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxyPort, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, text: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    const lines = [`${method} ${target} HTTP/1.1`, 'host: edge.test', 'connection: close'];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    lines.push(`content-length: ${body.length}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    // Not end(): a client that half-closes first has its request aborted by Node's server.
    socket.write(body);
  });
}

const RW = (tenant: string): Record<string, string> => ({
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-scope-orgid': tenant,
});

async function upstreamErrors(): Promise<number> {
  const text = await (await request(edge.metricsUrl)).body.text();
  let n = 0;
  for (const m of text.matchAll(/^rls_upstream_errors_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

describe('the proxy', () => {
  it.each(MEASURED)('measures POST %s like /api/v1/push (413 over max_body_bytes)', async (target) => {
    const before = upstream.requests.length;
    const res = await rawRequest('POST', target, RW('small'), BODY);
    expect(res.status).toBe(413);
    expect(res.text).toContain('err-mimir-distributor-max-write-message-size');
    expect(upstream.requests.length).toBe(before);
  });

  it.each(REFUSED)('refuses POST %s with 400, forwarding nothing', async (target) => {
    const before = upstream.requests.length;
    const res = await rawRequest('POST', target, RW('small'), BODY);
    expect(res.status).toBe(400);
    expect(res.text).toContain('err-mimir-edge-bad-request');
    expect(upstream.requests.length).toBe(before);
  });

  it('forwards an allowed write under the canonical path, with the query as sent', async () => {
    const before = upstream.requests.length;
    const res = await rawRequest('POST', '//api/v1/%70ush/?a=%2F', RW('roomy'), BODY);
    expect(res.status).toBe(200);
    const got = upstream.requests.slice(before);
    expect(got.map((r) => r.url)).toEqual(['/api/v1/push?a=%2F']);
    expect(got[0]!.body.equals(BODY)).toBe(true);
  });

  it('keeps an encoded slash outside the write paths (a label value) and forwards it', async () => {
    const before = upstream.requests.length;
    const res = await rawRequest('GET', '/prometheus/api/v1/label/a%2Fb/values', {}, Buffer.alloc(0));
    expect(res.status).toBe(200);
    expect(upstream.requests.slice(before).map((r) => r.url)).toEqual([
      '/prometheus/api/v1/label/a%2Fb/values',
    ]);
  });

  it('answers OPTIONS * and absolute-form GETs 400 itself: nothing upstream, no upstream error counted', async () => {
    const before = upstream.requests.length;
    const errorsBefore = await upstreamErrors();
    for (const [method, target] of [
      ['OPTIONS', '*'],
      ['GET', 'http://mimir.example/api/v1/query'],
    ] as const) {
      const res = await rawRequest(method, target, {}, Buffer.alloc(0));
      expect(res.status).toBe(400);
    }
    expect(upstream.requests.length).toBe(before);
    expect(await upstreamErrors()).toBe(errorsBefore);
    const metrics = await (await request(edge.metricsUrl)).body.text();
    expect(metrics).toMatch(/rls_client_errors_total\{cause="bad_target"\} [1-9]/);
  });
});

describe('Envoy ext_authz Check', () => {
  it.each(MEASURED)('measures POST %s like /api/v1/push (denied 413)', async (path) => {
    const res = await client.check({ path, headers: RW('small'), body: BODY });
    expect(res.http_response).toBe('denied_response');
    expect(res.denied_response?.status?.code).toBe('PayloadTooLarge');
  });

  it.each(REFUSED)('denies POST %s with 400', async (path) => {
    const res = await client.check({ path, headers: RW('small'), body: BODY });
    expect(res.http_response).toBe('denied_response');
    expect(res.denied_response?.status?.code).toBe('BadRequest');
    expect(res.denied_response?.body).toContain('err-mimir-edge-bad-request');
  });
});

describe('the authz endpoint (NGINX auth_request, Envoy http_service)', () => {
  const ask = async (path: string, headers: Record<string, string>) => {
    const res = await request(`${edge.proxyUrl}${path}`, { method: 'GET', headers });
    return { status: res.statusCode, text: await res.body.text() };
  };

  it.each(MEASURED)('measures X-Original-URI %s like /api/v1/push (413)', async (uri) => {
    const res = await ask('/_edge/authz', {
      'x-original-uri': uri,
      'x-original-method': 'POST',
      'x-original-content-length': '5000',
      'x-scope-orgid': 'small',
    });
    expect(res.status).toBe(413);
  });

  it.each(REFUSED)('refuses X-Original-URI %s with 400', async (uri) => {
    const res = await ask('/_edge/authz', {
      'x-original-uri': uri,
      'x-original-method': 'POST',
      'x-original-content-length': '5000',
      'x-scope-orgid': 'small',
    });
    expect(res.status).toBe(400);
  });

  it('measures a non-canonical path after the prefix (Envoy http_service path_prefix)', async () => {
    for (const rest of ['//api/v1/push', '/api/v1/%70ush', '/api/v1/push/']) {
      const raw = await rawRequest(
        'POST',
        `/_edge/authz${rest}`,
        { 'x-scope-orgid': 'small', 'x-original-content-length': '5000' },
        Buffer.alloc(0),
      );
      expect(raw.status).toBe(413);
    }
  });
});

describe('POLICY_FILE path matching', () => {
  const SPELLINGS = [
    '/api/%6Cimited',
    '//api/limited',
    '/api/./limited',
    '/api/limited/',
    '/api/x/../limited',
  ];

  it('the proxy: after the one allowed request, every spelling of the path is limited', async () => {
    const headers = { 'x-scope-orgid': 'pol-proxy' };
    expect((await rawRequest('GET', '/api/limited', headers, Buffer.alloc(0))).status).toBe(200);
    for (const target of SPELLINGS)
      expect((await rawRequest('GET', target, headers, Buffer.alloc(0))).status, target).toBe(429);
  });

  it('ext_authz: after the one allowed request, every spelling of the path is limited', async () => {
    const headers = { 'x-scope-orgid': 'pol-envoy' };
    const first = await client.check({ method: 'GET', path: '/api/limited', headers });
    expect(first.http_response).toBe('ok_response');
    for (const path of SPELLINGS) {
      const res = await client.check({ method: 'GET', path, headers });
      expect(res.denied_response?.status?.code, path).toBe('TooManyRequests');
    }
  });

  it('the authz endpoint: after the one allowed request, every spelling of the path is limited', async () => {
    const ask = async (uri: string): Promise<number> => {
      const res = await request(`${edge.proxyUrl}/_edge/authz`, {
        headers: { 'x-original-uri': uri, 'x-original-method': 'GET', 'x-scope-orgid': 'pol-authz' },
      });
      await res.body.dump();
      return res.statusCode;
    };
    expect(await ask('/api/limited')).toBe(200);
    for (const uri of SPELLINGS) expect(await ask(uri), uri).toBe(429);
  });
});
