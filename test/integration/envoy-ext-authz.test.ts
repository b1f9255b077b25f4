// Envoy's ext_authz over real gRPC: an independent grpc-js client with Envoy's v3 protos → the edge's
// ext_authz port. Asserts what Envoy would act on: OK with upstream headers, or a denied_response with
// the proxy's status, headers and body — and that a tenant's budget is one budget across proxy and ext_authz.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import * as grpc from '@grpc/grpc-js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient, headerMap, rawUnary } from '../helpers/grpc-client.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

const OVERRIDES = `
overrides:
  shared:
    ingestion_rate: 1
    ingestion_burst_size: 100
  labels:
    max_label_names_per_series: 3
`;

const RW = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' };

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let client: EnvoyClient;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, { TENANT_FROM_BASIC_AUTH: 'true' }, OVERRIDES);
  client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
});
afterAll(async () => {
  client.close();
  await edge.stop();
  await upstream.close();
});

async function pushViaProxy(tenant: string, body: Buffer) {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { ...RW, 'x-scope-orgid': tenant },
    body,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('gRPC health', () => {
  it('reports SERVING for the server and each service on both ports, NOT_FOUND for others', async () => {
    expect((await client.health('authz', '')).status).toBe('SERVING');
    expect((await client.health('authz', 'envoy.service.auth.v3.Authorization')).status).toBe('SERVING');
    expect((await client.health('rls', 'envoy.service.ratelimit.v3.RateLimitService')).status).toBe(
      'SERVING',
    );
    await expect(client.health('authz', 'no.such.Service')).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });
});

describe('Check', () => {
  it('allows a write within limits and tells Envoy which headers to add upstream', async () => {
    const res = await client.check({
      headers: { ...RW, 'x-scope-orgid': 'team-a' },
      body: snappyBody(manySeries(10)),
    });
    expect(res.status?.code).toBe(0);
    expect(res.http_response).toBe('ok_response');
    expect(headerMap(res.ok_response?.headers)).toMatchObject({
      'x-rate-limited': 'false',
      'x-tenant-id': 'team-a',
    });
  });

  it('shares one ingestion budget with the proxy: spend part via the proxy, the rest via ext_authz, then 429', async () => {
    // Burst 100 items: 60 through the proxy, 30 through ext_authz, then 30 more is over.
    expect((await pushViaProxy('shared', snappyBody(manySeries(60)))).status).toBe(200);
    const ok = await client.check({
      headers: { ...RW, 'x-scope-orgid': 'shared' },
      body: snappyBody(manySeries(30)),
    });
    expect(ok.status?.code).toBe(0);

    const denied = await client.check({
      headers: { ...RW, 'x-scope-orgid': 'shared' },
      body: snappyBody(manySeries(30)),
    });
    expect(denied.http_response).toBe('denied_response');
    expect(denied.status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(denied.denied_response?.status?.code).toBe('TooManyRequests');
    const headers = headerMap(denied.denied_response?.headers);
    expect(headers['x-rate-limited']).toBe('true');
    expect(Number(headers['retry-after'])).toBeGreaterThanOrEqual(6);
    expect(Number(headers['retry-after'])).toBeLessThanOrEqual(9);
    expect(headers['ratelimit-remaining']).toBe('0');
    // Envoy passes the client's Retry-Attempt in the CheckRequest: a fifth attempt waits 48..96 s.
    const fifth = await client.check({
      headers: { ...RW, 'x-scope-orgid': 'shared', 'retry-attempt': '5' },
      body: snappyBody(manySeries(30)),
    });
    const fifthWait = Number(headerMap(fifth.denied_response?.headers)['retry-after']);
    expect(fifthWait).toBeGreaterThanOrEqual(48);
    expect(fifthWait).toBeLessThanOrEqual(96);
    expect(denied.denied_response?.body).toContain('err-mimir-tenant-max-ingestion-rate');

    // The proxy now denies the same write for the same reason, with the same text.
    const viaProxy = await pushViaProxy('shared', snappyBody(manySeries(30)));
    expect(viaProxy.status).toBe(429);
    expect(viaProxy.text).toBe(denied.denied_response?.body);
  });

  it('denies a write without a tenant with 401 and says which header is missing', async () => {
    const res = await client.check({ headers: RW, body: snappyBody(manySeries(1)) });
    expect(res.status?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(res.denied_response?.status?.code).toBe('Unauthorized');
    expect(res.denied_response?.body).toContain('X-Scope-OrgID');
  });

  it('denies an invalid tenant id with 401, as Mimir 2.12+ does', async () => {
    const res = await client.check({
      headers: { ...RW, 'x-scope-orgid': 'team/a' },
      body: snappyBody(manySeries(1)),
    });
    expect(res.status?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(res.denied_response?.status?.code).toBe('Unauthorized');
    expect(res.denied_response?.body).toContain('err-mimir-edge-invalid-tenant');
  });

  it('takes the tenant from basic auth and has Envoy send it upstream in the tenant header', async () => {
    const res = await client.check({
      headers: { ...RW, authorization: 'Basic ' + Buffer.from('team-b:secret').toString('base64') },
      body: snappyBody(manySeries(2)),
    });
    expect(headerMap(res.ok_response?.headers)['x-scope-orgid']).toBe('team-b');
  });

  it('answers 400 naming the series for a label limit, and 400 for a body that is not remote write', async () => {
    const labels = await client.check({
      headers: { ...RW, 'x-scope-orgid': 'labels' },
      body: snappyBody(manySeries(1, 5)),
    });
    expect(labels.denied_response?.status?.code).toBe('BadRequest');
    expect(labels.denied_response?.body).toContain('err-mimir-max-label-names-per-series');
    const garbage = await client.check({
      headers: { ...RW, 'x-scope-orgid': 'team-a' },
      body: Buffer.from('definitely not snappy'),
    });
    expect(garbage.denied_response?.status?.code).toBe('BadRequest');
    expect(garbage.denied_response?.body).toContain('err-mimir-edge-invalid-body');
  });

  it('applies the partial-body rule (deny by default) when Envoy truncated the body or sent none', async () => {
    const truncated = await client.check({
      headers: {
        ...RW,
        'x-scope-orgid': 'team-a',
        'x-envoy-auth-partial-body': 'true',
        'content-length': '5000',
      },
      body: snappyBody(manySeries(20)).subarray(0, 50),
    });
    expect(truncated.denied_response?.status?.code).toBe('PayloadTooLarge');
    expect(truncated.denied_response?.body).toContain('max_request_bytes');
    const none = await client.check({
      headers: { ...RW, 'x-scope-orgid': 'team-a', 'content-length': '5000' },
    });
    expect(none.denied_response?.status?.code).toBe('PayloadTooLarge');
    expect(none.denied_response?.body).toContain('Envoy sent no request body');
  });

  it('lets requests that are not remote-write POSTs through untouched', async () => {
    const res = await client.check({ method: 'GET', path: '/prometheus/api/v1/query?query=up' });
    expect(res.status?.code).toBe(0);
    expect(res.ok_response?.headers ?? []).toHaveLength(0);
  });

  it('refuses a malformed CheckRequest with INVALID_ARGUMENT and keeps serving', async () => {
    await expect(
      rawUnary(
        edge.extAuthzAddress,
        '/envoy.service.auth.v3.Authorization/Check',
        Buffer.from([0x0a, 0xff, 0xff]),
      ),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    // A field number past 2^29 - 1 is not protobuf: the same reader as the remote-write scanners refuses it.
    await expect(
      rawUnary(
        edge.extAuthzAddress,
        '/envoy.service.auth.v3.Authorization/Check',
        Buffer.from([0x88, 0x80, 0x80, 0x80, 0x10, 0x00]),
      ),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('field number out of range at offset 0'),
    });
    await expect(
      rawUnary(edge.extAuthzAddress, '/envoy.service.auth.v3.Authorization/Nope', Buffer.alloc(0)),
    ).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    const after = await client.check({
      headers: { ...RW, 'x-scope-orgid': 'team-a' },
      body: snappyBody(manySeries(1)),
    });
    expect(after.status?.code).toBe(0);
  });
});

describe('Check with EXT_AUTHZ_PARTIAL_BODY=headers', () => {
  it('decides a truncated body on the tenant, its declared size and request_rate', async () => {
    const other = await startEdge(
      upstream.url,
      { EXT_AUTHZ_PARTIAL_BODY: 'headers' },
      'overrides:\n  one-per-second:\n    request_rate: 1\n    request_burst_size: 1\n  small:\n    max_body_bytes: 100\n',
    );
    const c = new EnvoyClient(other.extAuthzAddress, other.ratelimitAddress);
    try {
      const partial = { ...RW, 'x-envoy-auth-partial-body': 'true' };
      const first = await c.check({
        headers: { ...partial, 'x-scope-orgid': 'one-per-second', 'content-length': '80' },
      });
      expect(first.status?.code).toBe(0);
      const second = await c.check({
        headers: { ...partial, 'x-scope-orgid': 'one-per-second', 'content-length': '80' },
      });
      expect(second.denied_response?.status?.code).toBe('TooManyRequests');
      expect(second.denied_response?.body).toContain('err-mimir-tenant-max-request-rate');
      const big = await c.check({
        headers: { ...partial, 'x-scope-orgid': 'small', 'content-length': '5000' },
      });
      expect(big.denied_response?.status?.code).toBe('PayloadTooLarge');
    } finally {
      c.close();
      await other.stop();
    }
  });
});
