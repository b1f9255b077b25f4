// A rolling restart under load loses no write: two edge processes behind a small round-robin balancer
// that follows /api/health (as a Kubernetes Service follows readiness). Each replica in turn is replaced:
// a new one starts, the old one gets SIGTERM. Every write must be answered 200 and arrive byte-identical.

import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { stopAllProcesses } from '../helpers/child-process.js';
import { startFaultUpstream } from '../helpers/fault-upstream.js';
import type { FaultUpstream } from '../helpers/fault-upstream.js';
import { startService } from '../helpers/service.js';
import type { ServiceInstance } from '../helpers/service.js';
import { FROM_SOURCE } from '../helpers/source-entry.js';
import { snappyBody } from '../helpers/write-request.js';

interface Backend {
  svc: ServiceInstance;
  healthy: boolean;
}

/** Round robin over backends whose /api/health answered 200 at the last poll (every 50 ms). No retries. */
async function startBalancer(): Promise<{ url: string; backends: Backend[]; close(): Promise<void> }> {
  const backends: Backend[] = [];
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  let next = 0;
  const poll = setInterval(() => {
    for (const b of backends) {
      request(`${b.svc.adminUrl}/api/health`, { dispatcher: agent }).then(
        async (r) => {
          await r.body.text();
          b.healthy = r.statusCode === 200;
        },
        () => {
          b.healthy = false;
        },
      );
    }
  }, 50);
  const server: Server = createServer((req, res) => {
    const healthy = backends.filter((b) => b.healthy);
    if (healthy.length === 0) {
      res.writeHead(599).end('no healthy backend');
      return;
    }
    const backend = healthy[next++ % healthy.length]!;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      request(`${backend.svc.proxyUrl}${req.url ?? '/'}`, {
        method: 'POST',
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks),
        dispatcher: agent,
      }).then(
        async (r) => {
          const body = await r.body.text();
          res.writeHead(r.statusCode).end(body);
        },
        (err: Error) => res.writeHead(598).end(`balancer could not forward: ${err.message}`),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    backends,
    close: async () => {
      clearInterval(poll);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.close();
    },
  };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let upstream: FaultUpstream | undefined;
afterAll(async () => {
  await stopAllProcesses();
  await upstream?.close();
});

describe('rolling restart', () => {
  it(
    'replaces both replicas while 4 senders write, and no write is lost or altered',
    { timeout: 120_000 },
    async () => {
      upstream = await startFaultUpstream();
      const dir = mkdtempSync(join(tmpdir(), 'edge-rolling-'));
      const overridesFile = join(dir, 'overrides.yaml');
      writeFileSync(overridesFile, 'overrides: {}\n');
      const replica = () =>
        startService({
          upstreamUrl: upstream!.url,
          overridesFile,
          ...FROM_SOURCE,
          env: { ...FROM_SOURCE.env, SHUTDOWN_DELAY: '1s', SHUTDOWN_GRACE: '10s' },
        });
      const balancer = await startBalancer();
      try {
        for (const svc of await Promise.all([replica(), replica()]))
          balancer.backends.push({ svc, healthy: true });

        const sent = new Map<string, number>();
        const failures: string[] = [];
        let running = true;
        const sender = async (id: number): Promise<void> => {
          for (let seq = 0; running; seq++) {
            const body = snappyBody([
              { labels: { __name__: 'rolling', sender: String(id), seq: String(seq) } },
            ]);
            const res = await request(`${balancer.url}/api/v1/push`, {
              method: 'POST',
              headers: {
                'content-type': 'application/x-protobuf',
                'content-encoding': 'snappy',
                'x-scope-orgid': `sender-${id}`,
              },
              body,
            });
            const text = await res.body.text();
            if (res.statusCode !== 200) failures.push(`sender ${id} write ${seq}: ${res.statusCode} ${text}`);
            else sent.set(sha(body), (sent.get(sha(body)) ?? 0) + 1);
          }
        };
        const senders = [0, 1, 2, 3].map(sender);

        for (let i = 0; i < 2; i++) {
          await new Promise((r) => setTimeout(r, 500));
          const fresh = await replica();
          balancer.backends.push({ svc: fresh, healthy: true });
          // The balancer keeps sending to the old replica until its health says draining, as a Service does.
          const old = balancer.backends[0]!;
          process.kill(old.svc.process.pid, 'SIGTERM');
          const exit = await old.svc.process.exited;
          expect(exit, old.svc.output()).toEqual({ code: 0, signal: null });
          balancer.backends.splice(balancer.backends.indexOf(old), 1);
        }
        await new Promise((r) => setTimeout(r, 500));
        running = false;
        await Promise.all(senders);

        expect(failures).toEqual([]);
        const total = [...sent.values()].reduce((a, b) => a + b, 0);
        expect(total).toBeGreaterThan(20);
        // Every write answered 200 arrived upstream exactly as sent.
        const arrived = new Map<string, number>();
        for (const b of upstream.bodies) arrived.set(sha(b), (arrived.get(sha(b)) ?? 0) + 1);
        expect(arrived).toEqual(sent);
      } finally {
        await balancer.close();
      }
    },
  );
});
