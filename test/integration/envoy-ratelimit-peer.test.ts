// envoyproxy/ratelimit's own service and integration tests (test/service/ratelimit_test.go,
// test/integration/integration_test.go), ported: real gRPC from an independent grpc-js client with Envoy's
// rls.proto to the edge's ratelimit port, loaded with config in that project's format (its integration
// config directory under its own file names, test/vectors/envoy-ratelimit/integration/) and started with
// its environment variables. Asserts the answers and the Prometheus series its statsd-exporter mapping makes.
// The clock is the test's: 2024-01-01T00:00:02Z, so a minute window resets in 58 s, as in those tests.

import { copyFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient } from '../helpers/grpc-client.js';
import type { RateLimitInput, RateLimitResponse } from '../helpers/grpc-client.js';

const INTEGRATION_DIR = fileURLToPath(new URL('../vectors/envoy-ratelimit/integration/', import.meta.url));

/** Rules for the ratelimit_test.go cases (which mock GetLimit there): one key per situation. */
const SERVICE_CONFIG = `
domain: different-domain
descriptors:
  - key: foo
    value: bar
    rate_limit: {unit: minute, requests_per_unit: 10, name: key_name}
  - key: shadow
    shadow_mode: true
    rate_limit: {unit: minute, requests_per_unit: 10}
  - key: regular
    rate_limit: {unit: minute, requests_per_unit: 5}
  - key: quota
    quota_mode: true
    rate_limit: {unit: minute, requests_per_unit: 3}
  - key: baz
    value: qux
    rate_limit: {unlimited: true}
  - key: meta1
    metadata: {name: service_1, nested: {a: 1}}
    rate_limit: {unit: minute, requests_per_unit: 10}
  - key: meta2
    metadata: {some_other_name: service_2, nested: {a: 2, b: true}}
    rate_limit: {unit: minute, requests_per_unit: 5}
  - key: meta3
    metadata: {name: service_3}
    rate_limit: {unit: minute, requests_per_unit: 5}
`;
/** Two files of one domain (MERGE_DOMAIN_CONFIG). */
const MERGE_1 =
  'domain: merged\ndescriptors:\n  - key: a\n    rate_limit: {unit: minute, requests_per_unit: 1}\n';
const MERGE_2 =
  'domain: merged\ndescriptors:\n  - key: b\n    rate_limit: {unit: minute, requests_per_unit: 2}\n';

const clock = Date.UTC(2024, 0, 1, 0, 0, 2);
let upstream: RecordingUpstream;
const edges: EdgeUnderTest[] = [];
const clients: EnvoyClient[] = [];

async function edgeWith(env: Record<string, string>): Promise<{ edge: EdgeUnderTest; client: EnvoyClient }> {
  const edge = await startEdge(upstream.url, env, 'overrides: {}\n', () => clock);
  const client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
  edges.push(edge);
  clients.push(client);
  return { edge, client };
}

function serviceDir(merge = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'rls-peer-'));
  writeFileSync(join(dir, 'service.yaml'), SERVICE_CONFIG);
  if (merge) {
    writeFileSync(join(dir, 'merge_1.yaml'), MERGE_1);
    writeFileSync(join(dir, 'merge_2.yaml'), MERGE_2);
  }
  return dir;
}

async function metrics(edge: EdgeUnderTest): Promise<string> {
  return (await request(edge.metricsUrl)).body.text();
}

/** The value of one series in a Prometheus text page (0 when absent). */
function series(page: string, name: string, labels: string): number {
  const head = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = page.split('\n').find((l) => l.startsWith(head));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

const one = (domain: string, entries: [string, string][][], hits?: number): RateLimitInput => ({
  domain,
  descriptors: entries.map((e) => ({ entries: e.map(([key, value]) => ({ key, value })) })),
  ...(hits !== undefined ? { hits_addend: hits } : {}),
});

// -- A RateLimitRequest written by hand, for RateLimitDescriptor.hits_addend (field 3, a UInt64Value),
// which the rls.proto the client loads predates.
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}
const field = (n: number, bytes: Buffer): Buffer =>
  Buffer.concat([varint((n << 3) | 2), varint(bytes.length), bytes]);
const text = (n: number, s: string): Buffer => field(n, Buffer.from(s));

function rawRequest(
  domain: string,
  descriptors: { entries: [string, string][]; hits?: number }[],
  hitsAddend?: number,
): Buffer {
  const parts: Buffer[] = [text(1, domain)];
  for (const d of descriptors) {
    const inner = d.entries.map(([k, v]) => field(1, Buffer.concat([text(1, k), text(2, v)])));
    if (d.hits !== undefined)
      inner.push(field(3, d.hits === 0 ? Buffer.alloc(0) : Buffer.concat([varint(1 << 3), varint(d.hits)])));
    parts.push(field(2, Buffer.concat(inner)));
  }
  if (hitsAddend !== undefined) parts.push(varint(3 << 3), varint(hitsAddend));
  return Buffer.concat(parts);
}

function sendRaw(client: EnvoyClient, body: Buffer): Promise<RateLimitResponse> {
  const method = (
    client.rls.constructor as unknown as {
      service: { ShouldRateLimit: { path: string; responseDeserialize: (b: Buffer) => RateLimitResponse } };
    }
  ).service.ShouldRateLimit;
  return new Promise((resolve, reject) => {
    client.rls.makeUnaryRequest(
      method.path,
      (b: Buffer) => b,
      method.responseDeserialize,
      body,
      (err: grpc.ServiceError | null, value?: RateLimitResponse) => (err ? reject(err) : resolve(value!)),
    );
  });
}

beforeAll(async () => {
  upstream = await startRecordingUpstream();
});
afterAll(async () => {
  for (const c of clients) c.close();
  for (const e of edges) await e.stop();
  await upstream.close();
});

describe('integration_test.go: testBasicBaseConfig, on its config directory as it is', () => {
  let edge: EdgeUnderTest;
  let client: EnvoyClient;
  beforeAll(async () => {
    ({ edge, client } = await edgeWith({ RATELIMIT_CONFIG: INTEGRATION_DIR }));
  });

  it('answers an unknown domain OK with no limit', async () => {
    const res = await client.shouldRateLimit(one('foo', [[['hello', 'world']]], 1));
    expect(res.overall_code).toBe('OK');
    expect(res.statuses).toHaveLength(1);
    expect(res.statuses[0]).toMatchObject({
      code: 'OK',
      current_limit: null,
      limit_remaining: 0,
      duration_until_reset: null,
    });
  });

  it('counts basic/key1 and exposes ratelimit_service_rate_limit_total_hits{domain="basic",key1="key1"}', async () => {
    const res = await client.shouldRateLimit(one('basic', [[['key1', 'foo']]], 1));
    expect(res.overall_code).toBe('OK');
    expect(res.statuses[0]).toMatchObject({
      code: 'OK',
      current_limit: { requests_per_unit: 50, unit: 'SECOND' },
      limit_remaining: 49,
    });
    const page = await metrics(edge);
    expect(
      series(page, 'ratelimit_service_rate_limit_total_hits', 'domain="basic",key1="key1",key2=""'),
    ).toBe(1);
    expect(page).toMatch(/^ratelimit_service_config_load_success 1$/m);
  });

  it('goes over a minute limit on another/key2 after 20, and counts total/within/near/over as there', async () => {
    const value = String(Math.floor(Math.random() * 1e9));
    for (let i = 0; i < 25; i++) {
      const res = await client.shouldRateLimit(one('another', [[['key2', value]]], 1));
      const over = i >= 20;
      expect(res.overall_code).toBe(over ? 'OVER_LIMIT' : 'OK');
      expect(res.statuses[0]).toMatchObject({
        code: over ? 'OVER_LIMIT' : 'OK',
        current_limit: { requests_per_unit: 20, unit: 'MINUTE' },
        limit_remaining: over ? 0 : 20 - (i + 1),
        duration_until_reset: { seconds: 58 },
      });
    }
    const page = await metrics(edge);
    const labels = 'domain="another",key1="key2",key2=""';
    expect(series(page, 'ratelimit_service_rate_limit_total_hits', labels)).toBe(25);
    expect(series(page, 'ratelimit_service_rate_limit_over_limit', labels)).toBe(5);
    expect(series(page, 'ratelimit_service_rate_limit_within_limit', labels)).toBe(20);
    // floor(20 × 0.8) = 16: the 17th to 20th hits are near the limit.
    expect(series(page, 'ratelimit_service_rate_limit_near_limit', labels)).toBe(4);
  });

  it('limits two keys in one request, each on its own window', async () => {
    const value = String(Math.floor(Math.random() * 1e9));
    for (let i = 0; i < 15; i++) {
      const res = await client.shouldRateLimit(one('another', [[['key2', value]], [['key3', value]]], 1));
      const over = i >= 10;
      expect(res.overall_code).toBe(over ? 'OVER_LIMIT' : 'OK');
      expect(res.statuses[0]).toMatchObject({ code: 'OK', limit_remaining: 20 - (i + 1) });
      expect(res.statuses[1]).toMatchObject({
        code: over ? 'OVER_LIMIT' : 'OK',
        current_limit: { requests_per_unit: 10, unit: 'HOUR' },
        limit_remaining: over ? 0 : 10 - (i + 1),
      });
    }
    const page = await metrics(edge);
    expect(
      series(page, 'ratelimit_service_rate_limit_total_hits', 'domain="another",key1="key2",key2=""'),
    ).toBe(40);
    expect(
      series(page, 'ratelimit_service_rate_limit_over_limit', 'domain="another",key1="key3",key2=""'),
    ).toBe(5);
  });
});

describe('integration_test.go: testConfigReload', () => {
  it('picks up reload.yaml copied into the directory, and its removal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rls-peer-reload-'));
    cpSync(INTEGRATION_DIR, dir, { recursive: true });
    const { edge, client } = await edgeWith({
      RATELIMIT_CONFIG: dir,
      RATELIMIT_CONFIG_RELOAD_INTERVAL: '50ms',
    });
    const loads = async () => series(await metrics(edge), 'ratelimit_service_config_load_success', '');
    const before = await client.shouldRateLimit(one('reload', [[['block', 'foo']]], 1));
    expect(before.overall_code).toBe('OK');
    expect(before.statuses[0]).toMatchObject({ code: 'OK', current_limit: null });
    const loadsBefore = await loads();
    copyFileSync(
      fileURLToPath(new URL('../vectors/envoy-ratelimit/reload.yaml', import.meta.url)),
      join(dir, 'reload.yaml'),
    );
    await expect.poll(loads, { timeout: 5000 }).toBeGreaterThan(loadsBefore);
    const key1 = await client.shouldRateLimit(one('reload', [[['key1', 'foo']]], 1));
    expect(key1.overall_code).toBe('OK');
    expect(key1.statuses[0]).toMatchObject({
      current_limit: { requests_per_unit: 50, unit: 'SECOND' },
      limit_remaining: 49,
    });
    expect((await client.shouldRateLimit(one('reload', [[['block', 'foo']]], 1))).overall_code).toBe(
      'OVER_LIMIT',
    );
    const loadsAfter = await loads();
    rmSync(join(dir, 'reload.yaml'));
    await expect.poll(loads, { timeout: 5000 }).toBeGreaterThan(loadsAfter);
    expect((await client.shouldRateLimit(one('reload', [[['block', 'foo']]], 1))).overall_code).toBe('OK');
  });
});

describe('integration_test.go: testShareThreshold (share_threshold.yaml)', () => {
  let client: EnvoyClient;
  beforeAll(async () => {
    ({ client } = await edgeWith({ RATELIMIT_CONFIG: INTEGRATION_DIR }));
  });

  it('shares one counter among all values matching files/*, and not among files_no_share/*', async () => {
    const domain = 'share-threshold-test';
    for (let i = 0; i < 10; i++) await client.shouldRateLimit(one(domain, [[['files', 'files/a.pdf']]]));
    const res = await client.shouldRateLimit(one(domain, [[['files', 'files/b.csv']]]));
    expect(res.overall_code).toBe('OVER_LIMIT');
    expect(res.statuses[0]).toMatchObject({
      code: 'OVER_LIMIT',
      current_limit: { requests_per_unit: 10, unit: 'HOUR' },
      limit_remaining: 0,
    });
    for (let i = 0; i < 10; i++) {
      const alone = await client.shouldRateLimit(one(domain, [[['files_no_share', `files_no_share/${i}`]]]));
      expect(alone.overall_code).toBe('OK');
      expect(alone.statuses[0]?.limit_remaining).toBe(9);
    }
  });
});

describe('ratelimit_test.go, with its environment variables', () => {
  let edge: EdgeUnderTest;
  let client: EnvoyClient;
  beforeAll(async () => {
    ({ edge, client } = await edgeWith({
      RATELIMIT_CONFIG: serviceDir(true),
      MERGE_DOMAIN_CONFIG: 'true',
      LIMIT_RESPONSE_HEADERS_ENABLED: 'true',
    }));
  });

  it('TestService + TestServiceWithDefaultRatelimitHeaders: OVER_LIMIT with RateLimit-* headers', async () => {
    const res = await client.shouldRateLimit(
      one('different-domain', [[['foo', 'bar']], [['hello', 'world']]], 11),
    );
    expect(res.overall_code).toBe('OVER_LIMIT');
    expect(res.statuses[0]).toMatchObject({
      code: 'OVER_LIMIT',
      current_limit: { requests_per_unit: 10, unit: 'MINUTE', name: 'key_name' },
      limit_remaining: 0,
    });
    expect(res.statuses[1]).toMatchObject({ code: 'OK', current_limit: null, limit_remaining: 0 });
    expect(res.response_headers_to_add.map((h) => [h.key, h.value])).toEqual([
      ['RateLimit-Limit', '10'],
      ['RateLimit-Remaining', '0'],
      ['RateLimit-Reset', '58'],
    ]);
  });

  it('TestRuleShadowMode / TestMixedRuleShadowMode: a shadow rule over its limit answers OK', async () => {
    const shadowOnly = await client.shouldRateLimit(one('different-domain', [[['shadow', 's1']]], 11));
    expect(shadowOnly.overall_code).toBe('OK');
    expect(shadowOnly.statuses[0]).toMatchObject({ code: 'OK', limit_remaining: 0 });
    const mixed = await client.shouldRateLimit(
      one('different-domain', [[['shadow', 's2']], [['regular', 'r2']]], 11),
    );
    expect(mixed.overall_code).toBe('OVER_LIMIT');
    expect(mixed.statuses.map((s) => s.code)).toEqual(['OK', 'OVER_LIMIT']);
    const page = await metrics(edge);
    expect(
      series(
        page,
        'ratelimit_service_rate_limit_shadow_mode',
        'domain="different-domain",key1="shadow",key2=""',
      ),
    ).toBe(2);
  });

  it('TestServicePerDescriptorQuotaMode and friends: quota descriptors fail the request only when all are over', async () => {
    const codes = async (descriptors: { entries: [string, string][]; hits: number }[]) => {
      const res = await sendRaw(client, rawRequest('different-domain', descriptors));
      return [res.overall_code, ...res.statuses.map((s) => s.code)];
    };
    // regular: 5 per minute; quota (quota_mode): 3 per minute.
    // TestServicePerDescriptorQuotaMode: the regular one over fails the request.
    expect(
      await codes([
        { entries: [['regular', 'q1']], hits: 6 },
        { entries: [['quota', 'q1']], hits: 1 },
      ]),
    ).toEqual(['OVER_LIMIT', 'OVER_LIMIT', 'OK']);
    // TestServiceMixedPerDescriptorModes: the only quota descriptor over is "all quota ones over".
    expect(
      await codes([
        { entries: [['regular', 'q2']], hits: 1 },
        { entries: [['quota', 'q2']], hits: 4 },
      ]),
    ).toEqual(['OVER_LIMIT', 'OK', 'OVER_LIMIT']);
    // TestServiceQuotaModeOnlyAllOverTheLimit.
    expect(
      await codes([
        { entries: [['quota', 'q3']], hits: 4 },
        { entries: [['quota', 'q4']], hits: 4 },
      ]),
    ).toEqual(['OVER_LIMIT', 'OVER_LIMIT', 'OVER_LIMIT']);
    // TestServiceQuotaModeOnlySomeOverTheLimit.
    expect(
      await codes([
        { entries: [['quota', 'q5']], hits: 4 },
        { entries: [['quota', 'q6']], hits: 1 },
      ]),
    ).toEqual(['OK', 'OVER_LIMIT', 'OK']);
  });

  it('TestUnlimited: a limit, no limit and unlimited side by side', async () => {
    const res = await client.shouldRateLimit(
      one('different-domain', [[['foo', 'bar']], [['hello', 'world']], [['baz', 'qux']]], 0),
    );
    expect(
      res.statuses.map((s) => [s.code, s.current_limit?.requests_per_unit ?? null, s.limit_remaining]),
    ).toEqual([
      // foo=bar is already over from the first case (11 of 10).
      ['OVER_LIMIT', 10, 0],
      ['OK', null, 0],
      ['OK', null, 0xffff_ffff],
    ]);
  });

  it('TestEmptyDomain / TestEmptyDescriptors: UNKNOWN with its message, counted as service_error', async () => {
    await expect(client.shouldRateLimit(one('', [[['hello', 'world']]], 1))).rejects.toMatchObject({
      code: grpc.status.UNKNOWN,
      details: 'rate limit domain must not be empty',
    });
    await expect(
      client.shouldRateLimit({ domain: 'different-domain', descriptors: [] }),
    ).rejects.toMatchObject({
      code: grpc.status.UNKNOWN,
      details: 'rate limit descriptor list must not be empty',
    });
    const page = await metrics(edge);
    expect(series(page, 'ratelimit_service_should_rate_limit_error', 'err_type="service_error"')).toBe(2);
  });

  it('per-descriptor hits_addend overrides the request’s, and 0 checks without counting', async () => {
    // regular: 5 per minute. The descriptor's own 4 wins over the request's 1.
    const first = await sendRaw(
      client,
      rawRequest('different-domain', [{ entries: [['regular', 'h1']], hits: 4 }], 1),
    );
    expect(first.statuses[0]?.limit_remaining).toBe(1);
    // 0: checked, not counted, however often.
    for (let i = 0; i < 3; i++) {
      const check = await sendRaw(
        client,
        rawRequest('different-domain', [{ entries: [['regular', 'h1']], hits: 0 }], 9),
      );
      expect(check.overall_code).toBe('OK');
      expect(check.statuses[0]?.limit_remaining).toBe(1);
    }
    // Without its own, the descriptor takes the request's (2 → over).
    const over = await sendRaw(client, rawRequest('different-domain', [{ entries: [['regular', 'h1']] }], 2));
    expect(over.overall_code).toBe('OVER_LIMIT');
    // Two descriptors, two addends in one request.
    const mixed = await sendRaw(
      client,
      rawRequest('different-domain', [
        { entries: [['regular', 'h2']], hits: 5 },
        { entries: [['regular', 'h3']], hits: 6 },
      ]),
    );
    expect(mixed.statuses.map((s) => s.code)).toEqual(['OK', 'OVER_LIMIT']);
  });

  it('caps a descriptor hits_addend of 2^60 at 2^32 − 1, the range of the request one, and stays up', async () => {
    const huge = await sendRaw(
      client,
      rawRequest('different-domain', [{ entries: [['regular', 'huge']], hits: 2 ** 60 }]),
    );
    expect(huge.overall_code).toBe('OVER_LIMIT');
    expect(huge.statuses[0]?.limit_remaining).toBe(0);
    const page = await metrics(edge);
    const total = series(
      page,
      'ratelimit_service_rate_limit_total_hits',
      'domain="different-domain",key1="regular",key2=""',
    );
    expect(total).toBeGreaterThanOrEqual(0xffff_ffff);
    expect(total).toBeLessThan(2 ** 33);
    expect(
      (await client.shouldRateLimit(one('different-domain', [[['regular', 'other']]]))).overall_code,
    ).toBe('OK');
  });

  it('MERGE_DOMAIN_CONFIG: two files of one domain both apply', async () => {
    const res = await client.shouldRateLimit(one('merged', [[['a', 'x']], [['b', 'x']]]));
    expect(res.statuses.map((s) => s.current_limit?.requests_per_unit)).toEqual([1, 2]);
  });
});

describe('ratelimit_test.go: TestServiceGlobalShadowMode (SHADOW_MODE=true)', () => {
  it('answers OK overall while the descriptor status says OVER_LIMIT, and counts it', async () => {
    const { edge, client } = await edgeWith({ RATELIMIT_CONFIG: serviceDir(), SHADOW_MODE: 'true' });
    const res = await client.shouldRateLimit(
      one('different-domain', [[['foo', 'bar']], [['hello', 'world']]], 11),
    );
    expect(res.overall_code).toBe('OK');
    expect(res.statuses.map((s) => s.code)).toEqual(['OVER_LIMIT', 'OK']);
    expect(await metrics(edge)).toMatch(/^ratelimit_service_global_shadow_mode 1$/m);
  });
});

/** google.protobuf.Struct as grpc-js decodes it (its well-known types in camelCase), back to plain values. */
type PbValue = { kind?: string } & Record<string, unknown>;
function plain(v: PbValue): unknown {
  switch (v.kind) {
    case 'structValue':
      return struct(v['structValue'] as { fields: Record<string, PbValue> });
    case 'listValue':
      return (v['listValue'] as { values: PbValue[] }).values.map(plain);
    case 'nullValue':
      return null;
    default:
      return v[v.kind!];
  }
}
function struct(s: { fields: Record<string, PbValue> } | null | undefined): Record<string, unknown> | null {
  if (!s) return null;
  return Object.fromEntries(Object.entries(s.fields).map(([k, v]) => [k, plain(v)]));
}
const metadataOf = (res: RateLimitResponse) =>
  struct(
    (res as unknown as { dynamic_metadata: { fields: Record<string, PbValue> } | null }).dynamic_metadata,
  );

describe('ratelimit_test.go: TestServiceGlobalQuotaMode + TestServiceWithCustomRatelimitHeaders + metadata', () => {
  let client: EnvoyClient;
  beforeAll(async () => {
    ({ client } = await edgeWith({
      RATELIMIT_CONFIG: serviceDir(),
      QUOTA_MODE: 'true',
      RESPONSE_DYNAMIC_METADATA: 'true',
      LIMIT_RESPONSE_HEADERS_ENABLED: 'true',
      LIMIT_LIMIT_HEADER: 'A-Ratelimit-Limit',
      LIMIT_REMAINING_HEADER: 'A-Ratelimit-Remaining',
      LIMIT_RESET_HEADER: 'A-Ratelimit-Reset',
    }));
  });

  it('QUOTA_MODE: OVER_LIMIT only when every descriptor is over; LIMIT_*_HEADER names are used', async () => {
    const some = await client.shouldRateLimit(
      one('different-domain', [[['regular', 'g1']], [['foo', 'bar']]], 6),
    );
    expect(some.statuses.map((s) => s.code)).toEqual(['OVER_LIMIT', 'OK']);
    expect(some.overall_code).toBe('OK');
    const all = await client.shouldRateLimit(
      one('different-domain', [[['regular', 'g2']], [['foo', 'bar']]], 6),
    );
    expect(all.statuses.map((s) => s.code)).toEqual(['OVER_LIMIT', 'OVER_LIMIT']);
    expect(all.overall_code).toBe('OVER_LIMIT');
    expect(all.response_headers_to_add.map((h) => h.key)).toEqual([
      'A-Ratelimit-Limit',
      'A-Ratelimit-Remaining',
      'A-Ratelimit-Reset',
    ]);
  });

  it('TestMetadataReturnedForPassedDescriptors: only passed descriptors give their metadata', async () => {
    const res = await sendRaw(
      client,
      rawRequest(
        'different-domain',
        [
          { entries: [['meta1', 'm1']], hits: 1 },
          { entries: [['meta3', 'm1']], hits: 6 },
        ],
        1,
      ),
    );
    expect(res.overall_code).toBe('OK');
    expect(metadataOf(res)).toEqual({
      domain: 'different-domain',
      descriptors: [
        { entries: ['meta1=m1'], hitsAddend: 1 },
        { entries: ['meta3=m1'], hitsAddend: 6 },
      ],
      hitsAddend: 1,
      metadata: { name: 'service_1', nested: { a: 1 } },
    });
  });

  it('TestMetadataReturnedForAllPassedDescriptors / TestOverlappingMetadataReturnsTheFirstValue: merged, first wins', async () => {
    const res = await client.shouldRateLimit(
      one('different-domain', [[['meta1', 'm2']], [['meta2', 'm2']], [['meta3', 'm2']]]),
    );
    expect(res.overall_code).toBe('OK');
    expect(metadataOf(res)?.['metadata']).toEqual({
      name: 'service_1',
      nested: { a: 1, b: true },
      some_other_name: 'service_2',
    });
    expect(metadataOf(res)).not.toHaveProperty('hitsAddend');
  });
});
