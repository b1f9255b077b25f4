// Client-chosen strings on the gRPC ports never grow /metrics or the heap without bound: unconfigured
// domains share one label, descriptor overrides and detailed_metric values do not mint series at will, the
// window-counter store stops at RATELIMIT_MAX_COUNTERS (answering OVER_LIMIT past it), overlong descriptors
// are refused, and health Watch accepts only the services the listener serves and forgets cancelled watchers.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient } from '../helpers/grpc-client.js';
import type { RateLimitInput } from '../helpers/grpc-client.js';
import { GrpcServer } from '../../src/gateway/grpc/grpc-server.js';
import { HealthService } from '../../src/gateway/grpc/health-service.js';
import { MAX_DETAILED_SERIES } from '../../src/gateway/gateway-metrics.js';

const CONFIG = `
domain: edge
descriptors:
  - key: remote_address
    rate_limit: {unit: year, requests_per_unit: 1000}
  - key: user
    detailed_metric: true
    rate_limit: {unit: minute, requests_per_unit: 5}
`;
const MAX_COUNTERS = 1000;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let client: EnvoyClient;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rls-labels-'));
  writeFileSync(join(dir, 'edge.yaml'), CONFIG);
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {
    RATELIMIT_CONFIG: dir,
    RATELIMIT_MAX_COUNTERS: String(MAX_COUNTERS),
  });
  client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
});
afterAll(async () => {
  client.close();
  await edge.stop();
  await upstream.close();
});

async function metricsText(): Promise<string> {
  return (await request(edge.metricsUrl)).body.text();
}

function seriesOf(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`));
}

/** Runs `calls` at most 50 at a time. */
async function inBatches<T>(n: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch: Promise<T>[] = [];
    for (let j = i; j < Math.min(n, i + 50); j++) batch.push(call(j));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

const random = (i: number) => `${i}-${Math.random().toString(36).slice(2)}`;

describe('rate limit service labels and counters', () => {
  it('labels 10,000 unconfigured domains as one <unknown> domain', async () => {
    await inBatches(10_000, (i) =>
      client.shouldRateLimit({
        domain: `attacker-${random(i)}`,
        descriptors: [{ entries: [{ key: 'remote_address', value: random(i) }] }],
      }),
    );
    const series = seriesOf(await metricsText(), 'rls_ratelimit_descriptor_decisions_total');
    expect(series.length).toBeLessThan(10);
    expect(series.join('\n')).toContain('domain="<unknown>"');
    expect(series.join('\n')).not.toContain('attacker-');
  });

  it('keeps request values of descriptor overrides out of /metrics and caps the counters they create', async () => {
    // 10 calls × 1,000 descriptors, each a distinct value with a year-long limit Envoy "supplies".
    const answers = await inBatches(10, (call) => {
      const input: RateLimitInput = { domain: 'edge', descriptors: [] };
      for (let d = 0; d < 1000; d++) {
        input.descriptors.push({
          entries: [{ key: 'override_key', value: `secret-${random(call * 1000 + d)}` }],
          limit: { requests_per_unit: 10, unit: 'YEAR' },
        });
      }
      return client.shouldRateLimit(input);
    });
    const text = await metricsText();
    expect(text).not.toContain('secret-');
    expect(seriesOf(text, 'rls_ratelimit_descriptor_decisions_total').join('\n')).toContain(
      'descriptor="<override>"',
    );
    // The store stopped at its cap; the values it had no room for were answered as over the limit.
    const held = Number(/^rls_ratelimit_window_counters (\d+)/m.exec(text)?.[1]);
    expect(held).toBeLessThanOrEqual(MAX_COUNTERS);
    expect(Number(/^rls_ratelimit_window_counters_refused_total (\d+)/m.exec(text)?.[1])).toBeGreaterThan(
      8000,
    );
    const statuses = answers.flatMap((a) => a.statuses);
    expect(statuses.filter((s) => s.code === 'OVER_LIMIT').length).toBeGreaterThan(8000);
  });

  it(`keeps at most ${MAX_DETAILED_SERIES} detailed_metric series however many values arrive`, async () => {
    await inBatches(5, (call) =>
      client.shouldRateLimit({
        domain: 'edge',
        descriptors: Array.from({ length: 1000 }, (_, d) => ({
          entries: [{ key: 'user', value: `u-${call * 1000 + d}` }],
        })),
      }),
    );
    const series = seriesOf(await metricsText(), 'rls_ratelimit_descriptor_decisions_total').filter((l) =>
      l.includes('descriptor="edge.user_'),
    );
    expect(series.length).toBeLessThanOrEqual(MAX_DETAILED_SERIES + 5);
    expect(series.join('\n')).toContain('descriptor="edge.user_<other>"');
  });

  it('refuses a descriptor longer than 4096 characters with INVALID_ARGUMENT', async () => {
    await expect(
      client.shouldRateLimit({
        domain: 'edge',
        descriptors: [{ entries: [{ key: 'remote_address', value: 'x'.repeat(5000) }] }],
      }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});

describe('health Watch', () => {
  let server: GrpcServer;
  let health: HealthService;
  let address: string;

  beforeAll(async () => {
    server = new GrpcServer({ maxMessageBytes: 1 << 20 });
    health = new HealthService(['envoy.service.ratelimit.v3.RateLimitService']);
    health.register(server);
    address = `127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  });
  afterAll(async () => {
    await server.close(500);
  });

  type WatchStream = grpc.ClientReadableStream<{ status: string }>;
  const watch = (c: EnvoyClient, service: string): WatchStream =>
    (c.rlsHealth as unknown as { Watch(req: { service: string }): WatchStream }).Watch({ service });

  it('answers NOT_FOUND for a service it does not serve, and keeps no watcher for it', async () => {
    const c = new EnvoyClient(address, address);
    try {
      const call = watch(c, 'no.such.Service');
      const err = await new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      expect(health.watcherCount).toBe(0);
    } finally {
      c.close();
    }
  });

  it('drops a cancelled watcher', async () => {
    const c = new EnvoyClient(address, address);
    try {
      const calls = Array.from({ length: 20 }, () => watch(c, ''));
      await Promise.all(calls.map((call) => new Promise((resolve) => call.once('data', resolve))));
      expect(health.watcherCount).toBe(20);
      for (const call of calls) {
        call.on('error', () => undefined);
        call.cancel();
      }
      await expect.poll(() => health.watcherCount, { timeout: 3000 }).toBe(0);
    } finally {
      c.close();
    }
  });
});
