// Limits follow the overrides file live: a change applies without restart, a bad file is refused and
// the last good limits stay in force; dry run and per-tenant enforcement switches observe without denying.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function setUp(
  env: Record<string, string>,
  overrides: string,
): Promise<{ edge: EdgeUnderTest; upstream: RecordingUpstream }> {
  const upstream = await startRecordingUpstream();
  const edge = await startEdge(upstream.url, env, overrides);
  stops.push(
    () => upstream.close(),
    () => edge.stop(),
  );
  return { edge, upstream };
}

const push = (edge: EdgeUnderTest, tenant: string, series: number) =>
  pushRemoteWrite(edge.proxyUrl, tenant, snappyBody(manySeries(series, 3)));

async function statusJson(edge: EdgeUnderTest) {
  return (await (
    await request(`${edge.adminUrl}/api/system/status`, { headers: edge.adminHeaders })
  ).body.json()) as {
    status: string;
    limits: { version: number; overrides_file: { last_error: { message: string } | null } };
  };
}

describe('overrides file reload', () => {
  it('applies a changed file while running, found by polling', async () => {
    const { edge } = await setUp(
      { OVERRIDES_RELOAD_INTERVAL: '50ms' },
      'overrides:\n  t:\n    ingestion_rate: 1\n    ingestion_burst_size: 10\n',
    );
    expect(await push(edge, 't', 20)).toBe(429);
    edge.writeOverrides('overrides:\n  t:\n    ingestion_rate: 1000\n    ingestion_burst_size: 100000\n');
    const deadline = Date.now() + 5000;
    let status = 429;
    while (status === 429 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      status = await push(edge, 't', 20);
    }
    expect(status).toBe(200);
  });

  it('follows a Kubernetes ConfigMap volume (the ..data symlink swapped atomically)', async () => {
    const { symlinkSync, mkdirSync, renameSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'configmap-'));
    const writeVersion = (name: string, yaml: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'overrides.yaml'), yaml);
      symlinkSync(name, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    };
    writeVersion('..v1', 'overrides:\n  t:\n    ingestion_burst_size: 10\n');
    symlinkSync('..data/overrides.yaml', join(dir, 'overrides.yaml'));
    const { edge } = await setUp(
      { OVERRIDES_RELOAD_INTERVAL: '50ms', OVERRIDES_FILE: join(dir, 'overrides.yaml') },
      '',
    );
    expect(await push(edge, 't', 20)).toBe(429);
    writeVersion('..v2', 'overrides:\n  t:\n    ingestion_burst_size: 100000\n');
    const deadline = Date.now() + 5000;
    let status = 429;
    while (status === 429 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      status = await push(edge, 't', 20);
    }
    expect(status).toBe(200);
  });

  it('refuses a bad file, keeps the last good limits and reports why', async () => {
    const { edge } = await setUp({}, 'overrides:\n  t:\n    ingestion_burst_size: 10\n');
    const before = await statusJson(edge);
    edge.writeOverrides('overrides:\n  t:\n    ingestion_burst_size: lots\n');
    await edge.service.reloadOverrides();
    expect(await push(edge, 't', 20)).toBe(429);
    const after = await statusJson(edge);
    expect(after.status).toBe('degraded');
    expect(after.limits.version).toBe(before.limits.version);
    expect(after.limits.overrides_file.last_error?.message).toContain(
      'overrides.t.ingestion_burst_size: must be a finite number, got "lots"',
    );
    const metrics = await (await request(edge.metricsUrl)).body.text();
    expect(metrics).toMatch(/rls_overrides_reloads_total\{result="error"\} 1/);
    // Putting the last good file back clears the error.
    edge.writeOverrides('overrides:\n  t:\n    ingestion_burst_size: 10\n');
    await edge.service.reloadOverrides();
    expect((await statusJson(edge)).status).toBe('ok');
    edge.writeOverrides('overrides:\n  t:\n    ingestion_burst_size: 100000\n');
    await edge.service.reloadOverrides();
    expect(await push(edge, 't', 20)).toBe(200);
    expect((await statusJson(edge)).status).toBe('ok');
  });

  it('refuses to start with a bad file, naming the problem', async () => {
    const upstream = await startRecordingUpstream();
    stops.push(() => upstream.close());
    await expect(startEdge(upstream.url, {}, 'overrides:\n  t:\n    request_rate: -5\n')).rejects.toThrow(
      'overrides.t.request_rate: must be >= 0, got -5',
    );
  });
});

describe('observe without denying', () => {
  it('DRY_RUN forwards what would be denied and counts it', async () => {
    const { edge, upstream } = await setUp(
      { DRY_RUN: 'true' },
      'overrides:\n  t:\n    ingestion_burst_size: 10\n',
    );
    expect(await push(edge, 't', 20)).toBe(200);
    expect(upstream.requests).toHaveLength(1);
    const metrics = await (await request(edge.metricsUrl)).body.text();
    expect(metrics).toMatch(/rls_would_deny_total\{tenant="t",reason="ingestion_rate"\} 1/);
  });

  it('a per-tenant enforcement switch observes one limit and still enforces the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-config-'));
    const config = join(dir, 'edge.yaml');
    writeFileSync(config, 'enforcement:\n  t:\n    ingestion_rate: false\n');
    const { edge, upstream } = await setUp(
      { CONFIG_FILE: config },
      'overrides:\n  t:\n    ingestion_burst_size: 10\n    max_series_per_request: 100\n',
    );
    expect(await push(edge, 't', 20)).toBe(200);
    expect(await push(edge, 't', 101)).toBe(400);
    expect(upstream.requests).toHaveLength(1);
    const tenant = (await (
      await request(`${edge.adminUrl}/api/tenants/t`, { headers: edge.adminHeaders })
    ).body.json()) as {
      enforcement: { limits: Record<string, boolean> };
      stats: { would_deny: number; denied: number };
    };
    expect(tenant.enforcement.limits.ingestion_rate).toBe(false);
    expect(tenant.stats.would_deny).toBe(1);
    expect(tenant.stats.denied).toBe(1);
  });
});

describe('upstream failures', () => {
  it('answer a retriable 502 with Retry-After when the upstream is down, and recover when it is back', async () => {
    const upstream = await startRecordingUpstream();
    const url = upstream.url;
    await upstream.close();
    const edge = await startEdge(url, {}, '');
    stops.push(() => edge.stop());
    const res = await request(`${edge.proxyUrl}/api/v1/push`, {
      method: 'POST',
      headers: { 'content-encoding': 'snappy', 'x-scope-orgid': 't' },
      body: snappyBody(manySeries(2)),
    });
    expect(res.statusCode).toBe(502);
    // Mimir's Retry-After for a first attempt: 6 s, plus up to 3 s of jitter.
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(6);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(9);
    expect(await res.body.text()).toContain('err-mimir-edge-upstream-unavailable');
  });
});

describe('a watched file that cannot be read at start', () => {
  // The overrides file, POLICY_FILE and RATELIMIT_CONFIG are read by one watcher, so the refusal reads the
  // same for each: the file, once, what it is for, and the system's reason.
  it.each([
    ['OVERRIDES_FILE', 'overrides file'],
    ['POLICY_FILE', 'policy file'],
    ['RATELIMIT_CONFIG', 'descriptor config'],
  ])('%s missing: the edge does not start, and the error names the file once', async (setting, label) => {
    const upstream = await startRecordingUpstream();
    stops.push(() => upstream.close());
    const missing = join(mkdtempSync(join(tmpdir(), 'watched-missing-')), 'gone.yaml');
    await expect(startEdge(upstream.url, { [setting]: missing })).rejects.toThrow(
      new RegExp(`^${missing.replaceAll('.', '\\.')}: cannot read the ${label}: ENOENT$`),
    );
  });
});
