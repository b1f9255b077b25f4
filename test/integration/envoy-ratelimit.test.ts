// Envoy's rate limit service over real gRPC: an independent grpc-js client with Envoy's rls.proto → the
// edge's ratelimit port, loaded with an envoyproxy/ratelimit descriptor file. The clock is the test's, so
// fixed windows are exact. Asserts what Envoy acts on: overall code and every DescriptorStatus field.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient } from '../helpers/grpc-client.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

const CONFIG = `
domain: edge
descriptors:
  - key: remote_address
    rate_limit: {unit: minute, requests_per_unit: 3}
  - key: path
    value: /api/*
    rate_limit: {unit: second, requests_per_unit: 2}
  - key: plan
    value: free
    shadow_mode: true
    rate_limit: {unit: hour, requests_per_unit: 1}
  - key: plan
    value: vip
    rate_limit: {unlimited: true}
  - key: user
    rate_limit: {unit: day, requests_per_unit: 10, name: per_user}
  - key: user_override
    rate_limit: {unit: day, requests_per_unit: 100, replaces: [{name: per_user}]}
`;

// 2024-01-01T00:00:30Z: 30 s into a minute, so a minute window resets in 30 s.
let clock = Date.UTC(2024, 0, 1, 0, 0, 30);
let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let client: EnvoyClient;
let configDir: string;

beforeAll(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'rls-config-'));
  writeFileSync(join(configDir, 'edge.yaml'), CONFIG);
  upstream = await startRecordingUpstream();
  edge = await startEdge(
    upstream.url,
    {
      RATELIMIT_CONFIG: configDir,
      RATELIMIT_CONFIG_RELOAD_INTERVAL: '50ms',
      RATELIMIT_RESPONSE_HEADERS: 'true',
    },
    'overrides:\n  team-a:\n    request_rate: 2\n    request_burst_size: 3\n',
    () => clock,
  );
  client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
});
afterAll(async () => {
  client.close();
  await edge.stop();
  await upstream.close();
});

const one = (key: string, value: string, hits?: number) =>
  client.shouldRateLimit({
    domain: 'edge',
    descriptors: [{ entries: [{ key, value }] }],
    ...(hits ? { hits_addend: hits } : {}),
  });

describe('ShouldRateLimit with descriptor rules', () => {
  it('counts a fixed window and reports limit, remaining and time to reset', async () => {
    const first = await one('remote_address', '10.0.0.1');
    expect(first.overall_code).toBe('OK');
    expect(first.statuses[0]).toMatchObject({
      code: 'OK',
      current_limit: { requests_per_unit: 3, unit: 'MINUTE' },
      limit_remaining: 2,
      duration_until_reset: { seconds: 30 },
    });
    expect(first.response_headers_to_add).toEqual(
      expect.arrayContaining([
        { key: 'x-ratelimit-limit', value: '3', raw_value: expect.anything() as unknown },
        { key: 'x-ratelimit-remaining', value: '2', raw_value: expect.anything() as unknown },
      ]),
    );
    await one('remote_address', '10.0.0.1');
    await one('remote_address', '10.0.0.1');
    const over = await one('remote_address', '10.0.0.1');
    expect(over.overall_code).toBe('OVER_LIMIT');
    expect(over.statuses[0]).toMatchObject({ code: 'OVER_LIMIT', limit_remaining: 0 });
    // Another address has its own counter; the next minute starts a new window.
    expect((await one('remote_address', '10.0.0.2')).overall_code).toBe('OK');
    clock += 30_000;
    expect((await one('remote_address', '10.0.0.1')).overall_code).toBe('OK');
  });

  it('honours hits_addend', async () => {
    expect((await one('remote_address', '10.9.9.9', 3)).statuses[0]?.limit_remaining).toBe(0);
    expect((await one('remote_address', '10.9.9.8', 4)).overall_code).toBe('OVER_LIMIT');
  });

  it('matches wildcard values, reports shadow-mode overruns as OK, and never limits unlimited', async () => {
    // Each value matching the wildcard has its own counter, as in envoyproxy/ratelimit.
    await one('path', '/api/v1/push');
    await one('path', '/api/v1/push');
    expect((await one('path', '/api/v1/write')).overall_code).toBe('OK');
    expect((await one('path', '/api/v1/push')).overall_code).toBe('OVER_LIMIT');
    await one('plan', 'free');
    const shadow = await one('plan', 'free');
    expect(shadow.overall_code).toBe('OK');
    expect(shadow.statuses[0]?.limit_remaining).toBe(0);
    for (let i = 0; i < 5; i++)
      expect((await one('plan', 'vip')).statuses[0]?.limit_remaining).toBe(0xffff_ffff);
  });

  it('drops a named limit that another descriptor in the same request replaces', async () => {
    const res = await client.shouldRateLimit({
      domain: 'edge',
      descriptors: [
        { entries: [{ key: 'user', value: 'u1' }] },
        { entries: [{ key: 'user_override', value: 'u1' }] },
      ],
      hits_addend: 20,
    });
    expect(res.overall_code).toBe('OK');
    expect(res.statuses[0]?.current_limit).toBeNull();
    expect(res.statuses[1]?.current_limit?.requests_per_unit).toBe(100);
  });

  it('uses a limit Envoy supplies in the descriptor instead of the config', async () => {
    const req = {
      domain: 'edge',
      descriptors: [
        {
          entries: [{ key: 'remote_address', value: '10.1.1.1' }],
          limit: { requests_per_unit: 1, unit: 'HOUR' },
        },
      ],
    };
    expect((await client.shouldRateLimit(req)).statuses[0]?.current_limit).toMatchObject({
      requests_per_unit: 1,
      unit: 'HOUR',
    });
    expect((await client.shouldRateLimit(req)).overall_code).toBe('OVER_LIMIT');
  });

  it('refuses an empty domain or descriptor list with UNKNOWN, as envoyproxy/ratelimit does', async () => {
    await expect(
      client.shouldRateLimit({ domain: '', descriptors: [{ entries: [{ key: 'a', value: 'b' }] }] }),
    ).rejects.toMatchObject({
      code: grpc.status.UNKNOWN,
    });
    await expect(client.shouldRateLimit({ domain: 'edge', descriptors: [] })).rejects.toMatchObject({
      code: grpc.status.UNKNOWN,
    });
  });

  it('answers one status per descriptor, in order, for any mix of descriptors (property)', async () => {
    const entry = fc.record({
      key: fc.constantFrom('remote_address', 'path', 'plan', 'nothing', 'user'),
      value: fc.constantFrom('a', '/api/x', 'free', 'vip', 'u2'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(entry, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 5 }),
        async (descs) => {
          const res = await client.shouldRateLimit({
            domain: 'edge',
            descriptors: descs.map((entries) => ({ entries })),
          });
          expect(res.statuses).toHaveLength(descs.length);
          expect(res.overall_code).toBe(
            res.statuses.some((s) => s.code === 'OVER_LIMIT') ? 'OVER_LIMIT' : 'OK',
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('tenant fallback to Mimir request_rate', () => {
  it('limits an unmatched X-Scope-OrgID descriptor with the tenant bucket the proxy also uses', async () => {
    // request_rate 2/s, burst 3: one request through the proxy, then two via the RLS, then over.
    const res = await request(`${edge.proxyUrl}/api/v1/push`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-scope-orgid': 'team-a',
      },
      body: snappyBody(manySeries(1)),
    });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    const first = await one('X-Scope-OrgID', 'team-a');
    expect(first.statuses[0]).toMatchObject({
      code: 'OK',
      current_limit: { requests_per_unit: 2, unit: 'SECOND', name: 'request_rate' },
      limit_remaining: 1,
    });
    expect((await one('X-Scope-OrgID', 'team-a')).overall_code).toBe('OK');
    const over = await one('X-Scope-OrgID', 'team-a');
    expect(over.overall_code).toBe('OVER_LIMIT');
    expect(over.statuses[0]?.duration_until_reset?.seconds).toBeGreaterThanOrEqual(1);
    // A tenant without request_rate (Mimir's default 0 = unlimited) is not limited.
    expect((await one('X-Scope-OrgID', 'team-b')).statuses[0]?.current_limit).toBeNull();
  });
});

describe('RATELIMIT_CONFIG reload', () => {
  it('applies an edited file and keeps the last good config when an edit is refused', async () => {
    writeFileSync(
      join(configDir, 'edge.yaml'),
      CONFIG.replace('requests_per_unit: 3}', 'requests_per_unit: 50}'),
    );
    await expect
      .poll(
        async () => (await one('remote_address', '10.7.7.7')).statuses[0]?.current_limit?.requests_per_unit,
        { timeout: 3000 },
      )
      .toBe(50);
    writeFileSync(
      join(configDir, 'edge.yaml'),
      'domain: edge\ndescriptors:\n  - key: remote_address\n    rate_limit: {unit: fortnight}\n',
    );
    await new Promise((r) => setTimeout(r, 300));
    expect((await one('remote_address', '10.7.7.6')).statuses[0]?.current_limit?.requests_per_unit).toBe(50);
    const metrics = await (await request(edge.metricsUrl)).body.text();
    expect(metrics).toMatch(/rls_ratelimit_config_reloads_total\{result="error"\} [1-9]/);
    expect(metrics).toMatch(
      /rls_ratelimit_descriptor_decisions_total\{domain="edge",descriptor="edge.remote_address",result="over_limit"\}/,
    );
  });
});
