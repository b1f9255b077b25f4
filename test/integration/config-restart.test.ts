// Runtime limits survive a crash: the real service runs as a child process with STATE_DIR, an operator
// changes limits through the admin API, the process is killed with SIGKILL (by its PID), and the restarted
// service enforces the same limits, with the same versions and audit trail, even with a torn history line.

import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { repoRoot, startService } from '../helpers/service.js';
import type { ServiceInstance } from '../helpers/service.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const TOKEN = 'restart-test-admin-token';
let upstream: RecordingUpstream;
let dir: string;
const running: ServiceInstance[] = [];

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  dir = mkdtempSync(join(tmpdir(), 'config-restart-'));
  writeFileSync(join(dir, 'overrides.yaml'), 'overrides:\n  team-f:\n    max_series_per_request: 100\n');
});

afterAll(async () => {
  for (const s of running) await s.stop();
  await upstream?.close();
});

/** The service from source (tsx), so the test runs the code in this tree, not a stale build. */
async function start(): Promise<ServiceInstance> {
  const service = await startService({
    upstreamUrl: upstream.url,
    overridesFile: join(dir, 'overrides.yaml'),
    entry: join(repoRoot, 'src', 'cli.ts'),
    env: { NODE_OPTIONS: '--import tsx', STATE_DIR: join(dir, 'state'), ADMIN_TOKEN: TOKEN },
    startTimeoutMs: 60_000,
  });
  running.push(service);
  return service;
}

async function api(
  service: ServiceInstance,
  path: string,
  method: 'GET' | 'PUT' | 'POST' = 'GET',
  body?: unknown,
) {
  const res = await request(`${service.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

const push = (service: ServiceInstance, tenant: string, series: number): Promise<number> =>
  pushRemoteWrite(service.proxyUrl, tenant, snappyBody(manySeries(series, 1)));

describe('restart survival', () => {
  it('keeps runtime limits, versions and the audit log across kill -9', async () => {
    const first = await start();
    expect(await push(first, 'team-k', 3)).toBe(200);
    const put = await api(first, '/api/tenants/team-k/limits', 'PUT', {
      limits: { max_series_per_request: 2 },
      reason: 'before the crash',
    });
    expect(put.status).toBe(200);
    const off = await api(first, '/api/tenants/team-f/enforcement', 'POST', {
      limits: { max_series_per_request: false },
    });
    expect(off.status).toBe(200);
    expect(await push(first, 'team-k', 3)).toBe(400);
    const versionsBefore = (await api(first, '/api/config/versions')).json;

    // No graceful stop: whatever the 200 answers promised must already be on disk.
    process.kill(first.process.pid, 'SIGKILL');
    const exit = await first.process.exited;
    expect(exit.signal).toBe('SIGKILL');
    // A crash in the middle of appending a history line leaves half a line; it must not stop a start.
    appendFileSync(join(dir, 'state', 'config-history.jsonl'), '{"version": 99, "chan');

    const second = await start();
    expect(await push(second, 'team-k', 3)).toBe(400);
    expect(await push(second, 'team-k', 2)).toBe(200);
    const tenant = (await api(second, '/api/tenants/team-k')).json as {
      limit_sources: Record<string, string>;
    };
    expect(tenant.limit_sources.max_series_per_request).toBe('runtime');
    const teamF = (await api(second, '/api/tenants/team-f')).json as {
      enforcement: { limits: Record<string, boolean> };
    };
    expect(teamF.enforcement.limits.max_series_per_request).toBe(false);

    const versionsAfter = (await api(second, '/api/config/versions')).json;
    expect(versionsAfter.current).toBe(versionsBefore.current);
    expect(versionsAfter.versions).toEqual(versionsBefore.versions);
    const audit = (await api(second, '/api/audit?tenant=team-k')).json as {
      entries: Record<string, unknown>[];
    };
    expect(audit.entries[0]).toMatchObject({ reason: 'before the crash', source: 'api' });
    expect(second.output()).toContain('cut short');

    // And a rollback after the restart reaches a version made before it.
    const firstApiVersion = (versionsBefore.versions as { version: number; source: string }[]).find(
      (v) => v.source === 'overrides_file',
    )!.version;
    expect((await api(second, `/api/config/rollback/${firstApiVersion}`, 'POST')).status).toBe(200);
    expect(await push(second, 'team-k', 3)).toBe(200);
  });
});
