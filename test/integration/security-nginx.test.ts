// deploy/nginx run by Debian's nginx in front of the edge and a recording upstream: every spelling of a write
// path takes the write route and reaches the edge (measured) or is refused (an encoded slash: 400), the
// upstream gets the canonical path; and with tenantFromBasicAuth a client-sent X-Scope-OrgID never replaces
// the basic-auth user, neither for routing nor for what Mimir or the edge are told.

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAllProcesses } from '../helpers/child-process.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { requireNginx, startNginx } from '../helpers/nginx.js';
import type { NginxInstance, NginxRouting } from '../helpers/nginx.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { snappyBody } from '../helpers/write-request.js';

/** Two series: over the edge's max_series_per_request of 1, so the edge denies it (400 naming the limit). */
const DENIED_BODY = snappyBody([
  { labels: { __name__: 'up', job: 'a' } },
  { labels: { __name__: 'up', job: 'b' } },
]);
const ALLOWED_BODY = snappyBody([{ labels: { __name__: 'up', job: 'a' } }]);

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let nginx: NginxInstance | undefined;

function routing(mode: NginxRouting['mode'], extra: Partial<NginxRouting> = {}): NginxRouting {
  return {
    mode,
    mimirAddress: upstream.url.replace('http://', ''),
    edgeAddress: edge.proxyUrl.replace('http://', ''),
    upstreamKeepaliveTimeout: '2s',
    ...extra,
  };
}

beforeAll(async () => {
  requireNginx();
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {
    DEFAULT_MAX_SERIES_PER_REQUEST: '1',
    TENANT_FROM_BASIC_AUTH: 'true',
  });
  nginx = await startNginx(routing('full'));
});
afterAll(async () => {
  await nginx?.stop();
  await edge?.stop();
  await upstream?.close();
  await stopAllProcesses();
});

/** One POST with `target` written as is on the request line; resolves to status, route header and body. */
function post(
  target: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; route: string | undefined; text: string }> {
  const port = Number(new URL(nginx!.url).port);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const route = /\r\nx-edge-route: ([^\r]*)/i.exec(text)?.[1];
      resolve({ status, route, text: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    const lines = [
      `POST ${target} HTTP/1.1`,
      'host: nginx.test',
      'connection: close',
      'content-type: application/x-protobuf',
      'content-encoding: snappy',
      `content-length: ${body.length}`,
    ];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    socket.write(body);
  });
}

const basic = (user: string): string => `Basic ${Buffer.from(`${user}:secret`).toString('base64')}`;

describe('write paths behind nginx (full mode)', () => {
  it.each(['/api/v1/%70ush', '//api/v1/push', '/api/v1/push/', '/api/v1/./push', '/api/v1/zz/../push'])(
    '%s takes the write route to the edge and is measured',
    async (target) => {
      upstream.requests.length = 0;
      const denied = await post(target, { 'x-scope-orgid': 'team-a' }, DENIED_BODY);
      expect(denied.status).toBe(400);
      expect(denied.route).toBe('edge');
      expect(denied.text).toContain('err-mimir-edge-max-series-per-request');
      expect(upstream.requests).toHaveLength(0);
      const allowed = await post(target, { 'x-scope-orgid': 'team-a' }, ALLOWED_BODY);
      expect(allowed.status).toBe(200);
      expect(upstream.requests.map((r) => r.url)).toEqual(['/api/v1/push']);
    },
  );

  // (A "%5C" decodes to a backslash that neither NGINX nor Mimir reads as a separator: not a write path there.)
  it.each(['/api%2Fv1%2Fpush', '/api/v1%2fpush', '/api/v1/push%2F'])(
    '%s is refused with 400 and reaches no one',
    async (target) => {
      upstream.requests.length = 0;
      const res = await post(target, { 'x-scope-orgid': 'team-a' }, ALLOWED_BODY);
      expect(res.status).toBe(400);
      expect(upstream.requests).toHaveLength(0);
    },
  );

  it('keeps the query string of a write', async () => {
    upstream.requests.length = 0;
    const res = await post('/api/v1/push?a=%2F', { 'x-scope-orgid': 'team-a' }, ALLOWED_BODY);
    expect(res.status).toBe(200);
    expect(upstream.requests.map((r) => r.url)).toEqual(['/api/v1/push?a=%2F']);
  });
});

describe('tenantFromBasicAuth: the basic-auth user is the tenant, whatever header the client sends', () => {
  it('routes by the user and tells the edge and Mimir the user, never the client header', async () => {
    await nginx!.reload(routing('selective', { selected: ['alloy-user'], tenantFromBasicAuth: true }));
    await nginx!.settled();
    upstream.requests.length = 0;
    // Through the edge: routed by the user (not by the header), charged and forwarded as the user.
    const viaEdge = await post(
      '/api/v1/push',
      { authorization: basic('alloy-user'), 'x-scope-orgid': 'victim' },
      ALLOWED_BODY,
    );
    expect(viaEdge.status).toBe(200);
    expect(viaEdge.route).toBe('edge');
    // Straight to Mimir: the header it gets names the user.
    const direct = await post(
      '/api/v1/push',
      { authorization: basic('other-user'), 'x-scope-orgid': 'victim' },
      ALLOWED_BODY,
    );
    expect(direct.status).toBe(200);
    expect(direct.route).toBe('direct');
    expect(upstream.requests.map((r) => r.headers['x-scope-orgid'])).toEqual(['alloy-user', 'other-user']);
    // A sender with only the header keeps working.
    const headerOnly = await post('/api/v1/push', { 'x-scope-orgid': 'team-h' }, ALLOWED_BODY);
    expect(headerOnly.status).toBe(200);
    expect(upstream.requests[2]?.headers['x-scope-orgid']).toBe('team-h');
  });
});
