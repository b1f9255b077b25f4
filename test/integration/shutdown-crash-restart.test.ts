// A crash (SIGKILL, no chance to save anything at exit) and a restart keep the limits an operator set
// through the admin API: they are saved under STATE_DIR before the API answers, and enforced again at once.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { stopAllProcesses } from '../helpers/child-process.js';
import { startFaultUpstream } from '../helpers/fault-upstream.js';
import type { FaultUpstream } from '../helpers/fault-upstream.js';
import { startService } from '../helpers/service.js';
import type { ServiceInstance } from '../helpers/service.js';
import { FROM_SOURCE } from '../helpers/source-entry.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

const ADMIN_TOKEN = 'crash-restart-admin-token';
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

let upstream: FaultUpstream;
let overridesFile: string;
let stateDir: string;

function start(): Promise<ServiceInstance> {
  return startService({
    upstreamUrl: upstream.url,
    overridesFile,
    ...FROM_SOURCE,
    env: { ...FROM_SOURCE.env, STATE_DIR: stateDir, ADMIN_TOKEN },
  });
}

async function pushStatus(svc: ServiceInstance, tenant: string, series: number): Promise<number> {
  const res = await request(`${svc.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-scope-orgid': tenant,
    },
    body: snappyBody(manySeries(series, 3)),
  });
  await res.body.text();
  return res.statusCode;
}

async function tenantView(svc: ServiceInstance, tenant: string) {
  const res = await request(`${svc.adminUrl}/api/tenants/${tenant}`, { headers: AUTH });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as { limits: Record<string, number>; enforcement: { enabled: boolean } };
}

beforeAll(async () => {
  upstream = await startFaultUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'edge-crash-'));
  overridesFile = join(dir, 'overrides.yaml');
  writeFileSync(overridesFile, 'overrides: {}\n');
  stateDir = join(dir, 'state');
});
afterAll(async () => {
  await stopAllProcesses();
  await upstream.close();
});

describe('crash and restart', () => {
  it('keeps runtime limits and enforcement switches set through the admin API, and enforces them at once', async () => {
    const first = await start();
    const put = await request(`${first.adminUrl}/api/tenants/team-crash/limits`, {
      method: 'PUT',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ limits: { max_series_per_request: 5 }, reason: 'crash test' }),
    });
    expect(put.statusCode, await put.body.text()).toBe(200);
    const post = await request(`${first.adminUrl}/api/tenants/team-off/enforcement`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: false }),
    });
    expect(post.statusCode, await post.body.text()).toBe(200);
    expect(await pushStatus(first, 'team-crash', 6)).toBe(400);

    process.kill(first.process.pid, 'SIGKILL');
    expect((await first.process.exited).signal).toBe('SIGKILL');

    const second = await start();
    expect((await tenantView(second, 'team-crash')).limits.max_series_per_request).toBe(5);
    expect((await tenantView(second, 'team-off')).enforcement.enabled).toBe(false);
    expect(await pushStatus(second, 'team-crash', 6)).toBe(400);
    expect(await pushStatus(second, 'team-crash', 5)).toBe(200);
    expect(await pushStatus(second, 'team-other', 6)).toBe(200);
    const audit = await request(`${second.adminUrl}/api/audit?tenant=team-crash`, { headers: AUTH });
    const entries = ((await audit.body.json()) as { entries: { reason: string | null }[] }).entries;
    expect(entries.map((e) => e.reason)).toContain('crash test');
    await second.stop();
  });
});
