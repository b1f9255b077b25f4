// Graceful shutdown of the real process on SIGTERM: health turns to 503 "draining", the listener closes
// after SHUTDOWN_DELAY, a request in flight still gets its answer, and the process exits 0; a request that
// outlives SHUTDOWN_GRACE cannot hold the exit.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { stopAllProcesses } from '../helpers/child-process.js';
import { startFaultUpstream } from '../helpers/fault-upstream.js';
import type { FaultUpstream } from '../helpers/fault-upstream.js';
import { startService } from '../helpers/service.js';
import type { ServiceInstance } from '../helpers/service.js';
import { FROM_SOURCE } from '../helpers/source-entry.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

const RW_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-scope-orgid': 'team-a',
};
const BODY = snappyBody(manySeries(5, 4));

let upstream: FaultUpstream;
let overridesFile: string;

function canConnect(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function health(svc: ServiceInstance): Promise<{ status: number; body: string }> {
  const res = await request(`${svc.adminUrl}/api/health`);
  return { status: res.statusCode, body: await res.body.text() };
}

beforeAll(async () => {
  upstream = await startFaultUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'edge-shutdown-'));
  overridesFile = join(dir, 'overrides.yaml');
  writeFileSync(overridesFile, 'overrides: {}\n');
});
afterEach(() => {
  upstream.mode = 'ok';
  upstream.release();
});
afterAll(async () => {
  await stopAllProcesses();
  await upstream.close();
});

describe('SIGTERM', () => {
  it('reports draining, stops accepting, finishes the request in flight, then exits 0', async () => {
    const svc = await startService({
      upstreamUrl: upstream.url,
      overridesFile,
      ...FROM_SOURCE,
      env: { ...FROM_SOURCE.env, SHUTDOWN_DELAY: '300ms', SHUTDOWN_GRACE: '10s' },
    });
    upstream.mode = 'hold';
    const inFlight = request(`${svc.proxyUrl}/api/v1/push`, {
      method: 'POST',
      headers: RW_HEADERS,
      body: BODY,
    });
    await until('the write to reach the upstream', () => upstream.held === 1);

    process.kill(svc.process.pid, 'SIGTERM');
    await until('health to report draining', async () => (await health(svc)).status === 503);
    expect(JSON.parse((await health(svc)).body)).toMatchObject({ status: 'draining' });
    await until('the proxy to stop accepting connections', async () => !(await canConnect(svc.proxyUrl)));
    expect(svc.process.exitInfo()).toBeUndefined();

    upstream.release();
    const res = await inFlight;
    await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(res.headers.connection).toBe('close');
    expect(upstream.bodies.at(-1)!.equals(BODY)).toBe(true);
    const exit = await svc.process.exited;
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('exits within SHUTDOWN_GRACE even when a request in flight never finishes', async () => {
    const svc = await startService({
      upstreamUrl: upstream.url,
      overridesFile,
      ...FROM_SOURCE,
      env: { ...FROM_SOURCE.env, SHUTDOWN_GRACE: '500ms', UPSTREAM_TIMEOUT: '60s' },
    });
    upstream.mode = 'silent';
    const arrivedBefore = upstream.arrived;
    const stuck = request(`${svc.proxyUrl}/api/v1/push`, {
      method: 'POST',
      headers: RW_HEADERS,
      body: BODY,
    }).then(
      (r) => r.statusCode,
      () => 'connection closed',
    );
    await until('the write to reach the upstream', () => upstream.arrived === arrivedBefore + 1);

    const signalled = Date.now();
    process.kill(svc.process.pid, 'SIGTERM');
    const exit = await svc.process.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(4000);
    // The sender sees a network error, which Prometheus retries; never a 4xx.
    expect(await stuck).toBe('connection closed');
  });
});
