// The headers-only authz endpoint as Envoy's ext_authz http_service (path prefix + original path) and
// NGINX auth_request (X-Original-URI) call it: 200 to let a write through, else the proxy's status, headers
// and body — drawing on the same request_rate bucket as the proxy.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(
    upstream.url,
    {},
    'overrides:\n  limited:\n    request_rate: 1\n    request_burst_size: 2\n  small:\n    max_body_bytes: 1000\n',
  );
});
afterAll(async () => {
  await edge.stop();
  await upstream.close();
});

async function ask(path: string, method: string, headers: Record<string, string>) {
  const res = await request(`${edge.proxyUrl}${path}`, { method, headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('authz endpoint on the proxy port', () => {
  it('answers Envoy http_service: 200 with the tenant, then 429 with Retry-After once request_rate is spent', async () => {
    const headers = { 'x-scope-orgid': 'limited', 'content-length': '0' };
    // One write through the proxy spends a token from the same bucket.
    const proxied = await request(`${edge.proxyUrl}/api/v1/push`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-scope-orgid': 'limited',
      },
      body: snappyBody(manySeries(1)),
    });
    await proxied.body.text();
    expect(proxied.statusCode).toBe(200);
    const ok = await ask('/_edge/authz/api/v1/push', 'POST', headers);
    expect(ok.status).toBe(200);
    expect(ok.headers['x-tenant-id']).toBe('limited');
    expect(ok.headers['x-rate-limited']).toBe('false');
    const denied = await ask('/_edge/authz/api/v1/push', 'POST', headers);
    expect(denied.status).toBe(429);
    // Mimir's Retry-After for a first attempt: 6 s, plus up to 3 s of jitter.
    expect(Number(denied.headers['retry-after'])).toBeGreaterThanOrEqual(6);
    expect(Number(denied.headers['retry-after'])).toBeLessThanOrEqual(9);
    expect(denied.headers['ratelimit-remaining']).toBe('0');
    expect(denied.text).toContain('err-mimir-tenant-max-request-rate');
    // NGINX auth_request passes the client's headers: a third attempt waits 24 s ± 12.
    const third = await ask('/_edge/authz/api/v1/push', 'POST', { ...headers, 'retry-attempt': '3' });
    expect(third.status).toBe(429);
    expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(12);
    expect(Number(third.headers['retry-after'])).toBeLessThanOrEqual(36);
    expect(upstream.requests.filter((r) => r.url.startsWith('/_edge'))).toHaveLength(0);
  });

  it('answers NGINX auth_request (GET + X-Original-URI): 401 without a tenant, 413 for a declared size over max_body_bytes', async () => {
    const missing = await ask('/_edge/authz', 'GET', {
      'x-original-uri': '/api/v1/push',
      'x-original-method': 'POST',
    });
    expect(missing.status).toBe(401);
    expect(missing.text).toContain('X-Scope-OrgID');
    // An invalid tenant id: 401, as Mimir 2.12+ answers it.
    const invalid = await ask('/_edge/authz', 'GET', {
      'x-original-uri': '/api/v1/push',
      'x-original-method': 'POST',
      'x-scope-orgid': '..',
    });
    expect(invalid.status).toBe(401);
    expect(invalid.text).toContain('err-mimir-edge-invalid-tenant');
    const big = await ask('/_edge/authz', 'GET', {
      'x-original-uri': '/api/v1/push',
      'x-scope-orgid': 'small',
      'x-original-content-length': '5000',
    });
    expect(big.status).toBe(413);
    expect(big.text).toContain('err-mimir-distributor-max-write-message-size');
  });

  it('allows what is not a remote-write POST, and leaves other paths to the upstream', async () => {
    expect((await ask('/_edge/authz/api/v1/query', 'GET', {})).status).toBe(200);
    expect((await ask('/_edge/authzzz', 'GET', {})).status).toBe(200);
    expect(upstream.requests.some((r) => r.url === '/_edge/authzzz')).toBe(true);
  });
});
