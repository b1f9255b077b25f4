// The upstream's health as an operator reads it in /api/system/status and /api/overview: the periodic GET of
// UPSTREAM_HEALTH_PATH against a real upstream that becomes unready (503), goes away (connection refused),
// hangs, and comes back; and the proxy keeps forwarding at full speed while the probe waits.

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { freePort } from '../helpers/ports.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

const INTERVAL_MS = 400;
const TIMEOUT_MS = 300;

/** A stand-in for Mimir's distributors on a fixed port, so it can be stopped and started again at the same URL. */
class FlakyUpstream {
  /** How /ready answers: ready, 503 with Mimir's text, or never (the connection stays open). */
  ready: 'ok' | 'unready' | 'hang' = 'ok';
  readonly probes: string[] = [];
  pushes = 0;
  private server: Server | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/ready') {
          this.probes.push(`${req.method} ${req.url}`);
          if (this.ready === 'hang') return;
          if (this.ready === 'unready') {
            res.writeHead(503, { 'content-type': 'text/plain' });
            res.end('Some services are not Running:\nStarting: 1\ningester: Starting');
            return;
          }
          res.end('ready');
          return;
        }
        this.pushes++;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

interface Health {
  status: 'up' | 'down' | 'unknown';
  probe_url: string | null;
  last_check: string | null;
  latency_ms: number | null;
  last_status_code: number | null;
  last_error: { time: string; message: string } | null;
  recent_forward_failures: number;
}

let upstream: FlakyUpstream;
let edge: EdgeUnderTest;

beforeAll(async () => {
  upstream = new FlakyUpstream(await freePort());
  await upstream.start();
  edge = await startEdge(upstream.url, {
    UPSTREAM_HEALTH_INTERVAL: `${INTERVAL_MS}ms`,
    UPSTREAM_HEALTH_TIMEOUT: `${TIMEOUT_MS}ms`,
    UPSTREAM_TIMEOUT: '5s',
  });
});

afterAll(async () => {
  await edge?.stop();
  await upstream?.stop();
});

async function status(): Promise<{ status: string; upstream_health: Health }> {
  const res = await request(`${edge.adminUrl}/api/system/status`, { headers: edge.adminHeaders });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as { status: string; upstream_health: Health };
}

/** Polls the status until `ok` holds for the upstream's health; fails with the last one seen. */
async function waitForHealth(what: string, ok: (h: Health) => boolean, timeoutMs = 5000): Promise<Health> {
  const deadline = Date.now() + timeoutMs;
  let last: Health | undefined;
  while (Date.now() < deadline) {
    last = (await status()).upstream_health;
    if (ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the admin API never showed the upstream as ${what}; last: ${JSON.stringify(last)}`);
}

async function push(): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-encoding': 'snappy', 'x-scope-orgid': 'team-a' },
    body: snappyBody(manySeries(2, 3)),
  });
  await res.body.dump();
  return { status: res.statusCode, ms: performance.now() - started };
}

describe('upstream health in the admin API', () => {
  it('shows the upstream up after a real GET /ready, with when and how fast', async () => {
    const h = await waitForHealth('up', (x) => x.status === 'up');
    expect(h.probe_url).toBe(`${upstream.url}/ready`);
    expect(h.last_status_code).toBe(200);
    expect(h.latency_ms).toBeGreaterThan(0);
    expect(Date.now() - Date.parse(h.last_check!)).toBeLessThan(5000);
    expect(h.last_error).toBeNull();
    expect(upstream.probes[0]).toBe('GET /ready');
    expect((await status()).status).toBe('ok');

    const overview = await request(`${edge.adminUrl}/api/overview?range=5m`, { headers: edge.adminHeaders });
    const o = (await overview.body.json()) as { health: { upstream: Health & { target: string } } };
    expect(o.health.upstream).toMatchObject({ status: 'up', target: upstream.url });
  });

  it("says down with Mimir's own reason while the distributors answer 503, and the service is degraded", async () => {
    upstream.ready = 'unready';
    const h = await waitForHealth('down (503)', (x) => x.status === 'down');
    expect(h.last_status_code).toBe(503);
    expect(h.last_error?.message).toContain('answered 503');
    expect(h.last_error?.message).toContain('ingester: Starting');
    expect((await status()).status).toBe('degraded');
  });

  it('says down with the connection error while nothing listens, and counts the failed forwards', async () => {
    upstream.ready = 'ok';
    await upstream.stop();
    const h = await waitForHealth(
      'down (refused)',
      (x) => x.last_error?.message.includes('ECONNREFUSED') === true,
    );
    expect(h.status).toBe('down');
    expect(h.last_status_code).toBeNull();

    for (let i = 0; i < 3; i++) expect((await push()).status).toBeGreaterThanOrEqual(500);
    await waitForHealth('with 3 failed forwards', (x) => x.recent_forward_failures >= 3);
  });

  it('comes back up on its own when the upstream returns, keeping the last failure for the record', async () => {
    await upstream.start();
    const h = await waitForHealth('up again', (x) => x.status === 'up');
    expect(h.last_error?.message).toContain('ECONNREFUSED');
    expect((await status()).status).toBe('ok');
  });

  it('gives up on a hanging /ready after its own timeout while writes keep flowing at full speed', async () => {
    upstream.ready = 'hang';
    const probesBefore = upstream.probes.length;
    const h = await waitForHealth('down (timeout)', (x) => x.status === 'down', 5000);
    expect(h.last_error?.message).toContain(`no answer within ${TIMEOUT_MS} ms`);
    expect(upstream.probes.length).toBeGreaterThan(probesBefore);

    // The probe waits on its own connection: forwarded writes are not queued behind it.
    const pushesBefore = upstream.pushes;
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await push();
      expect(r.status).toBe(200);
      times.push(r.ms);
    }
    expect(upstream.pushes - pushesBefore).toBe(10);
    expect(Math.max(...times), 'slowest write while /ready hangs (ms)').toBeLessThan(TIMEOUT_MS);

    upstream.ready = 'ok';
    await waitForHealth('up after the hang', (x) => x.status === 'up');
  });
});
