// The proxy over real sockets: a remote-write client → the edge → a recording upstream.
// Asserts what a sender and the upstream would observe: statuses, headers, bodies, and what arrives.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { request } from 'undici';
import snappy from 'snappy';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { encodeWriteRequest, manySeries, snappyBody, writeRequest } from '../helpers/write-request.js';

const RW_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
};

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

const OVERRIDES = `
overrides:
  tight:
    ingestion_rate: 10
    ingestion_burst_size: 100
  requests:
    request_rate: 1
    request_burst_size: 2
  small-bodies:
    max_body_bytes: 200
  few-series:
    max_series_per_request: 5
  short-labels:
    max_label_names_per_series: 4
    max_label_name_length: 10
    max_label_value_length: 12
`;

async function push(body: Buffer, headers: Record<string, string> = {}, path = '/api/v1/push') {
  const res = await request(`${edge.proxyUrl}${path}`, {
    method: 'POST',
    headers: { ...RW_HEADERS, ...headers },
    body,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, { TENANT_FROM_BASIC_AUTH: 'true' }, OVERRIDES);
});
afterAll(async () => {
  await edge.stop();
  await upstream.close();
});
afterEach(() => {
  upstream.requests.length = 0;
  upstream.respond.status = 200;
  upstream.respond.headers = {};
  upstream.respond.body = '';
});

describe('allowed writes', () => {
  it('arrive upstream byte-identical with the client headers, and the upstream answer comes back unchanged', async () => {
    const body = snappyBody(manySeries(200, 12, 3));
    upstream.respond.status = 204;
    upstream.respond.headers = { 'x-upstream': 'mimir', 'x-prometheus-remote-write-samples-written': '600' };
    const res = await push(body, {
      'x-scope-orgid': 'team-a',
      'x-custom': 'kept',
      'user-agent': 'Prometheus/2.42.0',
    });
    expect(res.status).toBe(204);
    expect(res.headers['x-upstream']).toBe('mimir');
    expect(res.headers['x-prometheus-remote-write-samples-written']).toBe('600');
    expect(upstream.requests).toHaveLength(1);
    const got = upstream.requests[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/api/v1/push');
    expect(got.body.equals(body)).toBe(true);
    expect(got.headers['x-scope-orgid']).toBe('team-a');
    expect(got.headers['x-custom']).toBe('kept');
    expect(got.headers['content-encoding']).toBe('snappy');
    expect(got.headers['content-type']).toBe('application/x-protobuf');
    expect(got.headers['user-agent']).toBe('Prometheus/2.42.0');
    expect(got.headers['x-prometheus-remote-write-version']).toBe('0.1.0');
  });

  it('arrive byte-identical when the client uploads the body in pieces, with Content-Length or chunked', async () => {
    const body = snappyBody(manySeries(300, 12, 2));
    // Pieces of uneven size with pauses, so the edge sees many 'data' events (the body is assembled in one buffer).
    async function* pieces(): AsyncGenerator<Buffer> {
      for (let at = 0, k = 0; at < body.length; k++) {
        const size = [1, 7, 1000, 4096, 30_000][k % 5]!;
        yield body.subarray(at, at + size);
        at += size;
        if (k % 3 === 0) await new Promise((r) => setTimeout(r, 2));
      }
    }
    for (const declared of [true, false]) {
      upstream.requests.length = 0;
      const res = await request(`${edge.proxyUrl}/api/v1/push`, {
        method: 'POST',
        headers: {
          ...RW_HEADERS,
          'x-scope-orgid': 'team-a',
          ...(declared ? { 'content-length': String(body.length) } : {}),
        },
        body: Readable.from(pieces()),
      });
      await res.body.text();
      expect(res.statusCode, declared ? 'with Content-Length' : 'chunked').toBe(200);
      expect(upstream.requests).toHaveLength(1);
      expect(upstream.requests[0]!.body.equals(body), 'the upstream got the bytes the client sent').toBe(
        true,
      );
    }
  });

  it('relays an upstream error status and body as they are', async () => {
    upstream.respond.status = 500;
    upstream.respond.body = 'distributor exploded';
    const res = await push(snappyBody(manySeries(3)), { 'x-scope-orgid': 'team-a' });
    expect(res.status).toBe(500);
    expect(res.text).toBe('distributor exploded');
  });

  it('accepts /api/v1/write (Prometheus receiver path) too', async () => {
    const res = await push(snappyBody(manySeries(3)), { 'x-scope-orgid': 'team-a' }, '/api/v1/write');
    expect(res.status).toBe(200);
    expect(upstream.requests[0]?.url).toBe('/api/v1/write');
  });

  it('takes the tenant from the basic-auth user and sends it upstream in X-Scope-OrgID', async () => {
    const auth = 'Basic ' + Buffer.from('team-basic:secret').toString('base64');
    const res = await push(snappyBody(manySeries(3)), { authorization: auth });
    expect(res.status).toBe(200);
    expect(upstream.requests[0]?.headers['x-scope-orgid']).toBe('team-basic');
    expect(upstream.requests[0]?.headers.authorization).toBe(auth);
  });
});

describe('denied writes never reach the upstream', () => {
  afterEach(() => {
    expect(upstream.requests).toHaveLength(0);
  });

  it('401 without a tenant', async () => {
    const res = await push(snappyBody(manySeries(1)));
    expect(res.status).toBe(401);
    expect(res.text).toMatch(/X-Scope-OrgID.*err-mimir-edge-missing-tenant/);
  });

  it.each([
    ['a'.repeat(151), /151 characters/],
    ['..', /reserved/],
    ['.', /reserved/],
    ['team/a', /"\/"/],
    ['tëam', /not allowed/], // a look-alike outside ASCII
    ['team a', /not allowed/],
  ])('401 for the invalid tenant id %j', async (tenant, why) => {
    const res = await push(snappyBody(manySeries(1)), { 'x-scope-orgid': tenant });
    // Mimir 2.12+ answers an invalid tenant id 401 (pkg/api tenant validation middleware).
    expect(res.status).toBe(401);
    expect(res.text).toMatch(why);
    expect(res.text).toContain('err-mimir-edge-invalid-tenant');
  });

  it('accepts a 150-character tenant id with every allowed special character', async () => {
    const tenant = ("!-_.*'()" + 'x'.repeat(150)).slice(0, 150);
    const res = await push(snappyBody(manySeries(1)), { 'x-scope-orgid': tenant });
    expect(res.status).toBe(200);
    upstream.requests.length = 0;
  });

  it('413 for a body over the tenant max_body_bytes', async () => {
    const body = snappyBody(manySeries(50));
    const res = await push(body, { 'x-scope-orgid': 'small-bodies' });
    expect(res.status).toBe(413);
    expect(res.text).toContain(
      `message size of ${body.length} bytes is larger than the allowed limit of 200 bytes`,
    );
    expect(res.text).toContain('err-mimir-distributor-max-write-message-size');
  });

  it('400 for more series than max_series_per_request', async () => {
    const res = await push(snappyBody(manySeries(6)), { 'x-scope-orgid': 'few-series' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('carries 6 series, more than the limit of 5');
  });

  it('400 naming the series with too many labels', async () => {
    // Every series invalid: nothing is forwarded (a mixed request is partly accepted: partial-acceptance.test.ts).
    const body = snappyBody([{ labels: { __name__: 'wide', a: '1', b: '2', c: '3', d: '4' } }]);
    const res = await push(body, { 'x-scope-orgid': 'short-labels' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('actual: 5, limit: 4');
    expect(res.text).toContain('wide');
    expect(res.text).toContain('err-mimir-max-label-names-per-series');
  });

  it('400 for a label name over max_label_name_length', async () => {
    const res = await push(snappyBody([{ labels: { __name__: 'm', a_very_long_name: 'x' } }]), {
      'x-scope-orgid': 'short-labels',
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('err-mimir-label-name-too-long');
    expect(res.text).toContain("label name length exceeds the limit, label: 'a_very_long_name' series: 'm{");
  });

  it('400 for a label value over max_label_value_length', async () => {
    const res = await push(snappyBody([{ labels: { __name__: 'm', a: 'value-too-long' } }]), {
      'x-scope-orgid': 'short-labels',
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('err-mimir-label-value-too-long');
    expect(res.text).toContain(
      "label value length of 14 exceeds the limit of 12, label: 'a', value: 'value-too-long'",
    );
  });

  it('400 for a body that is not snappy, truncated, or declares huge lengths; and the edge keeps serving', async () => {
    const valid = encodeWriteRequest(writeRequest(manySeries(5)));
    const hugeLength = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]); // field 1, length ~4 GiB, 1 byte
    const bodies = [
      Buffer.from('definitely not snappy'),
      snappy.compressSync(valid.subarray(0, valid.length - 7)),
      snappy.compressSync(hugeLength),
      valid, // protobuf without compression
    ];
    for (const body of bodies) {
      const res = await push(body, { 'x-scope-orgid': 'team-a' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('err-mimir-edge-invalid-body');
    }
    const ok = await push(snappyBody(manySeries(2)), { 'x-scope-orgid': 'team-a' });
    expect(ok.status).toBe(200);
    upstream.requests.length = 0;
  });

  it('413 for a snappy body that declares more than MAX_REQUEST_BYTES once decompressed', async () => {
    // Preamble varint for 1 TiB, then junk: refused from the preamble, before any allocation.
    const bomb = Buffer.concat([Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]), Buffer.alloc(64)]);
    const res = await push(bomb, { 'x-scope-orgid': 'team-a' });
    expect(res.status).toBe(413);
  });

  it('429 with Retry-After once the ingestion rate is used up, and the cost counts every sample', async () => {
    // burst 100: 60 samples pass, the next 60 do not (only ~0 tokens refilled in between).
    const first = await push(snappyBody(manySeries(20, 3, 3)), { 'x-scope-orgid': 'tight' });
    expect(first.status).toBe(200);
    upstream.requests.length = 0;
    const second = await push(snappyBody(manySeries(20, 3, 3)), { 'x-scope-orgid': 'tight' });
    expect(second.status).toBe(429);
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(second.headers['x-rate-limited']).toBe('true');
    expect(second.text).toContain(
      'ingestion rate limit, set to 10 items/s with a maximum allowed burst of 100',
    );
    expect(second.text).toContain('this request carries 60 items');
    expect(second.text).toContain('err-mimir-tenant-max-ingestion-rate');
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(6);
    expect(Number(second.headers['retry-after'])).toBeLessThanOrEqual(9);
  });

  it("429's Retry-After grows with the sender's Retry-Attempt as Mimir's does, and a bad one is attempt 1", async () => {
    // Attempt 4: 6 × 2³ = 48 s ± 24; attempt 40: held at the 96 s maximum (48..96 with jitter).
    const body = snappyBody(manySeries(20, 3, 3));
    const fourth = await push(body, { 'x-scope-orgid': 'tight', 'retry-attempt': '4' });
    expect(fourth.status).toBe(429);
    expect(Number(fourth.headers['retry-after'])).toBeGreaterThanOrEqual(24);
    expect(Number(fourth.headers['retry-after'])).toBeLessThanOrEqual(72);
    const many = await push(body, { 'x-scope-orgid': 'tight', 'retry-attempt': '9'.repeat(300) });
    expect(many.status).toBe(429);
    expect(Number(many.headers['retry-after'])).toBeGreaterThanOrEqual(48);
    expect(Number(many.headers['retry-after'])).toBeLessThanOrEqual(96);
    const bad = await push(body, { 'x-scope-orgid': 'tight', 'retry-attempt': 'soon, please' });
    expect(bad.status).toBe(429);
    expect(Number(bad.headers['retry-after'])).toBeGreaterThanOrEqual(6);
    expect(Number(bad.headers['retry-after'])).toBeLessThanOrEqual(9);
  });

  it('429 for a request costing more than the burst, which can never pass', async () => {
    const res = await push(snappyBody(manySeries(101, 2)), { 'x-scope-orgid': 'tight' });
    expect(res.status).toBe(429);
    expect(res.text).toContain('can never be accepted');
  });

  it('429 once the request rate is used up', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await push(snappyBody(manySeries(1)), { 'x-scope-orgid': 'requests' })).status);
    expect(statuses).toEqual([200, 200, 429]);
    upstream.requests.length = 0;
  });

  it('415 for a remote-write message it does not know, so a sender can fall back', async () => {
    const res = await push(snappyBody(manySeries(1)), {
      'x-scope-orgid': 'team-a',
      'content-type': 'application/x-protobuf;proto=io.prometheus.write.v3.Request',
    });
    expect(res.status).toBe(415);
  });
});

describe('other paths', () => {
  it('pass through untouched, with query string, method and body', async () => {
    upstream.respond.body = '{"status":"success"}';
    upstream.respond.headers = { 'content-type': 'application/json' };
    const res = await request(`${edge.proxyUrl}/prometheus/api/v1/query?query=up`, {
      headers: { 'x-scope-orgid': 'anyone' },
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('{"status":"success"}');
    const post = await request(`${edge.proxyUrl}/api/v1/rules/ns`, {
      method: 'POST',
      body: 'groups: []',
      headers: { 'content-type': 'application/yaml' },
    });
    expect(post.statusCode).toBe(200);
    await post.body.dump();
    expect(upstream.requests.map((r) => [r.method, r.url, r.body.toString()])).toEqual([
      ['GET', '/prometheus/api/v1/query?query=up', ''],
      ['POST', '/api/v1/rules/ns', 'groups: []'],
    ]);
  });
});

describe('metrics and admin', () => {
  it('count decisions per tenant and reason', async () => {
    await push(snappyBody(manySeries(1)), { 'x-scope-orgid': 'metrics-tenant' });
    const text = await (await request(edge.metricsUrl)).body.text();
    expect(text).toMatch(
      /rls_decisions_total\{decision="allow",tenant="metrics-tenant",reason="allowed"\} 1/,
    );
    expect(text).toMatch(
      /rls_decisions_total\{decision="deny",tenant="tight",reason="ingestion_rate"\} [1-9]/,
    );
    expect(text).toContain('rls_authz_check_duration_seconds_bucket');
    expect(text).toContain('rls_body_parse_duration_seconds_bucket');
    expect(text).toMatch(/rls_body_parse_errors_total\{cause="invalid_snappy"\} [1-9]/);
    expect(text).toMatch(/rls_tenant_bucket_tokens\{tenant="tight",bucket_type="samples"\}/);
    expect(text).toMatch(/rls_upstream_responses_total\{code="200"\}/);
    const tenant = (await (
      await request(`${edge.adminUrl}/api/tenants/metrics-tenant`, { headers: edge.adminHeaders })
    ).body.json()) as {
      stats: { allowed: number; samples_allowed: number };
      limits_source: string;
    };
    expect(tenant.stats.allowed).toBe(1);
    expect(tenant.stats.samples_allowed).toBe(1);
    expect(tenant.limits_source).toBe('defaults');
    upstream.requests.length = 0;
  });
});
