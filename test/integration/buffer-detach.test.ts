// The built service never detaches an ArrayBuffer while it serves writes, admin reads and scrapes. One detach
// anywhere turns off V8's ArrayBufferDetaching protector for the rest of the process, and from then on every
// typed-array read in optimized code also checks that its buffer is still attached: the body scanners measured
// 11-23% slower (BENCHMARKS.md). V8 names each protector it turns off under --trace-protector-invalidation.
// The control run (the same service from source, under tsx's loader hooks) shows that the trace is seen.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeOtlpJson, encodeOtlpProto, otlpRequest } from '../helpers/otlp-request.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { RW2_CONTENT_TYPE, rw2SnappyBody } from '../helpers/rw2-request.js';
import { startService } from '../helpers/service.js';
import type { ServiceInstance } from '../helpers/service.js';
import { FROM_SOURCE } from '../helpers/source-entry.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const DETACHING = 'Invalidating protector cell ArrayBufferDetaching';
const TRACE = ['--trace-protector-invalidation'];

let upstream: RecordingUpstream;
let overridesFile: string;
const started: ServiceInstance[] = [];

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  overridesFile = join(mkdtempSync(join(tmpdir(), 'buffer-detach-')), 'overrides.yaml');
  writeFileSync(overridesFile, 'overrides:\n  team-a:\n    ingestion_rate: 1000000\n');
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await upstream?.close();
});

async function post(url: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'x-scope-orgid': 'team-a', ...headers },
    body,
  });
  await res.body.dump();
  return res.statusCode;
}

/** Every kind of body the proxy measures, then the admin API and a scrape; returns the statuses. */
async function exercise(service: ServiceInstance): Promise<number[]> {
  const series = manySeries(200, 12);
  const otlp = otlpRequest([
    {
      attributes: { 'service.name': 'api' },
      metrics: [
        { name: 'up', kind: 'gauge', points: [{ attributes: { pod: 'a' } }, { attributes: { pod: 'b' } }] },
      ],
    },
  ]);
  const statuses: number[] = [];
  for (let round = 0; round < 3; round++) {
    statuses.push(await pushRemoteWrite(service.proxyUrl, 'team-a', snappyBody(series)));
    statuses.push(
      await post(
        `${service.proxyUrl}/api/v1/push`,
        { 'content-type': RW2_CONTENT_TYPE, 'content-encoding': 'snappy' },
        rw2SnappyBody(series),
      ),
    );
    statuses.push(
      await post(
        `${service.proxyUrl}/otlp/v1/metrics`,
        { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
        gzipSync(encodeOtlpProto(otlp)),
      ),
    );
    statuses.push(
      await post(
        `${service.proxyUrl}/otlp/v1/metrics`,
        { 'content-type': 'application/json' },
        encodeOtlpJson(otlp),
      ),
    );
    const admin = await request(`${service.adminUrl}/api/health`);
    await admin.body.dump();
    statuses.push(admin.statusCode);
    await service.metrics();
  }
  return statuses;
}

describe('ArrayBuffer detaching', () => {
  it('never happens in the built service while it serves every write format, the admin API and /metrics', async () => {
    const service = await startService({ upstreamUrl: upstream.url, overridesFile, nodeArgs: TRACE });
    started.push(service);
    const statuses = await exercise(service);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(upstream.requests.length).toBeGreaterThanOrEqual(12);
    expect(service.output()).not.toContain(DETACHING);
  });

  it('is seen by the trace: the same service under tsx (whose loader hooks transfer buffers) reports one', async () => {
    const service = await startService({
      upstreamUrl: upstream.url,
      overridesFile,
      nodeArgs: TRACE,
      ...FROM_SOURCE,
    });
    started.push(service);
    await exercise(service);
    expect(service.output()).toContain(DETACHING);
  });
});
