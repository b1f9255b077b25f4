// With TENANT_FROM_BASIC_AUTH the authenticated basic-auth user is the tenant: a client-sent X-Scope-OrgID naming
// another tenant used to override it, so a client authenticated as one tenant could write as (and be charged to)
// any other. Now the two must agree or the write is refused 403 err-mimir-edge-tenant-mismatch, the same on the
// proxy, the authz endpoint and ext_authz Check.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import * as grpc from '@grpc/grpc-js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient } from '../helpers/grpc-client.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

const RW = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' };
const basic = (user: string): string => `Basic ${Buffer.from(`${user}:secret`).toString('base64')}`;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let client: EnvoyClient;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, { TENANT_FROM_BASIC_AUTH: 'true' });
  client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
});
afterAll(async () => {
  client.close();
  await edge.stop();
  await upstream.close();
});

async function push(headers: Record<string, string>) {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { ...RW, ...headers },
    body: snappyBody(manySeries(2)),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('TENANT_FROM_BASIC_AUTH: the basic-auth user and the tenant header', () => {
  it('proxy: a header naming another tenant is refused 403 and nothing is forwarded', async () => {
    upstream.requests.length = 0;
    const res = await push({ authorization: basic('alice'), 'x-scope-orgid': 'bob' });
    expect(res.status, res.text).toBe(403);
    expect(res.text).toContain('err-mimir-edge-tenant-mismatch');
    expect(res.text).not.toContain('bob');
    expect(upstream.requests).toHaveLength(0);
  });

  it('proxy: the same tenant in both, or the user alone, goes upstream as the user', async () => {
    upstream.requests.length = 0;
    expect((await push({ authorization: basic('alice'), 'x-scope-orgid': 'alice' })).status).toBe(200);
    expect((await push({ authorization: basic('alice') })).status).toBe(200);
    expect(upstream.requests.map((r) => r.headers['x-scope-orgid'])).toEqual(['alice', 'alice']);
    // Without basic auth the header still names the tenant.
    expect((await push({ 'x-scope-orgid': 'carol' })).status).toBe(200);
  });

  it('authz endpoint: the same 403', async () => {
    const res = await request(`${edge.proxyUrl}/_edge/authz/api/v1/push`, {
      method: 'POST',
      headers: { authorization: basic('alice'), 'x-scope-orgid': 'bob', 'content-length': '0' },
    });
    const text = await res.body.text();
    expect(res.statusCode, text).toBe(403);
    expect(text).toContain('err-mimir-edge-tenant-mismatch');
  });

  it('ext_authz Check: denied with 403 Forbidden', async () => {
    const res = await client.check({
      headers: { ...RW, authorization: basic('alice'), 'x-scope-orgid': 'bob' },
      body: snappyBody(manySeries(1)),
    });
    expect(res.status?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(res.denied_response?.status?.code).toBe('Forbidden');
    const ok = await client.check({
      headers: { ...RW, authorization: basic('alice'), 'x-scope-orgid': 'alice' },
      body: snappyBody(manySeries(1)),
    });
    expect(ok.status?.code).toBe(0);
  });
});
