// Switching rollout modes is an nginx reload: this drives remote writes through Debian's nginx without pause
// while the mode changes direct → mirror → canary → selective → full → direct, and checks that no write
// failed and that the upstream got every write exactly once (mirror copies are never forwarded).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { stopAllProcesses } from '../helpers/child-process.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { requireNginx, startNginx } from '../helpers/nginx.js';
import type { NginxInstance, NginxRouting } from '../helpers/nginx.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { snappyBody } from '../helpers/write-request.js';

const BODY = snappyBody([{ labels: { __name__: 'up', job: 'reload' } }]);
const HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
};
/** Bounds of the load: whichever comes first. */
const MAX_WRITES = 30_000;
const MAX_LOAD_MS = 30_000;
const WORKERS_PER_CLIENT = 8;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let nginx: NginxInstance | undefined;

interface ClientTally {
  writes: number;
  ok: number;
  /** Writes whose final answer was not 2xx, or that got no answer at all. */
  failed: string[];
  /** Attempts sent again because the connection closed before any answer (what Prometheus does). */
  retried: number;
  modes: Set<string>;
  okIds: string[];
}

function newTally(): ClientTally {
  return { writes: 0, ok: 0, failed: [], retried: 0, modes: new Set(), okIds: [] };
}

/** True for a connection closed or reset before any byte of the answer: the write may be sent again. */
function closedBeforeAnswer(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}

/**
 * Workers that write until `stop()`. `keepAlive` false opens a connection per write (no reuse to race with
 * a closing worker); true reuses connections like Prometheus and retries once if one closed under the write.
 */
function startLoad(url: string, keepAlive: boolean, counter: { next: number }) {
  const tally = newTally();
  const agent = new Agent({ connections: WORKERS_PER_CLIENT, pipelining: 1 });
  let stopping = false;
  const deadline = Date.now() + MAX_LOAD_MS;
  const send = async (id: string) => {
    const res = await request(`${url}/api/v1/push`, {
      method: 'POST',
      headers: { ...HEADERS, 'x-scope-orgid': `tenant-${Number(id.slice(1)) % 40}`, 'x-write-id': id },
      body: BODY,
      dispatcher: agent,
      reset: !keepAlive,
    });
    await res.body.dump();
    const mode = res.headers['x-edge-mode'];
    if (typeof mode === 'string') tally.modes.add(mode);
    return res.statusCode;
  };
  const worker = async () => {
    while (!stopping && Date.now() < deadline && counter.next < MAX_WRITES) {
      const id = `w${counter.next++}`;
      tally.writes++;
      let status: number;
      try {
        status = await send(id);
      } catch (err) {
        if (!keepAlive || !closedBeforeAnswer(err)) {
          tally.failed.push(`${id}: ${String(err)}`);
          continue;
        }
        tally.retried++;
        try {
          status = await send(id);
        } catch (again) {
          tally.failed.push(`${id} (retried): ${String(again)}`);
          continue;
        }
      }
      if (status >= 200 && status < 300) {
        tally.ok++;
        tally.okIds.push(id);
      } else tally.failed.push(`${id}: HTTP ${status}`);
    }
  };
  const done = Promise.all(Array.from({ length: WORKERS_PER_CLIENT }, worker)).then(() => agent.close());
  return {
    tally,
    async stop() {
      stopping = true;
      await done;
    },
  };
}

function routing(mode: NginxRouting['mode'], extra: Partial<NginxRouting> = {}): NginxRouting {
  return {
    mode,
    mimirAddress: upstream.url.replace('http://', ''),
    edgeAddress: edge.proxyUrl.replace('http://', ''),
    selected: ['tenant-1', 'tenant-2', 'tenant-3'],
    upstreamKeepaliveTimeout: '2s',
    ...extra,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  requireNginx();
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url);
  nginx = await startNginx(routing('direct'));
});

afterAll(async () => {
  await nginx?.stop();
  await edge?.stop();
  await upstream?.close();
  await stopAllProcesses();
});

describe('switching rollout modes under load (nginx reload)', () => {
  it('loses no write and sends none twice while the mode changes six times', async () => {
    if (!nginx) throw new Error('nginx did not start');
    const counter = { next: 0 };
    const fresh = startLoad(nginx.url, false, counter);
    const reused = startLoad(nginx.url, true, counter);
    const sequence: NginxRouting[] = [
      routing('mirror'),
      routing('canary', { canaryPercent: 10 }),
      routing('canary', { canaryPercent: 50 }),
      routing('selective'),
      routing('full'),
      routing('direct'),
    ];
    const decisionsAt: number[] = [];
    const decisions = async () =>
      sumMetric(await scrapeMetrics(edge.metricsUrl), 'rls_decisions_total', { decision: 'allow' });
    let reloadMs = 0;
    try {
      await sleep(300);
      for (const next of sequence) {
        decisionsAt.push(await decisions());
        const started = Date.now();
        await nginx.reload(next);
        reloadMs = Math.max(reloadMs, Date.now() - started);
        await sleep(1000);
      }
      decisionsAt.push(await decisions());
    } finally {
      await fresh.stop();
      await reused.stop();
    }

    const writes = fresh.tally.writes + reused.tally.writes;
    const retried = reused.tally.retried;
    console.log(
      `reload under load: ${writes} writes, ${sequence.length} reloads (slowest ${reloadMs} ms), ` +
        `${fresh.tally.failed.length + reused.tally.failed.length} failed, ${retried} keep-alive writes sent again`,
    );
    expect(writes, 'the load generator sent too little to prove anything').toBeGreaterThan(1000);
    expect(fresh.tally.failed, 'writes on fresh connections that failed').toEqual([]);
    expect(reused.tally.failed, 'keep-alive writes that failed even after one retry').toEqual([]);
    for (const t of [fresh.tally, reused.tally])
      expect([...t.modes].sort()).toEqual(['canary', 'direct', 'full', 'mirror', 'selective']);

    // Every answered write reached the upstream; none twice, except a write sent again after its connection
    // closed, which may have been delivered the first time too.
    const seen = new Map<string, number>();
    for (const r of upstream.requests) {
      const id = String(r.headers['x-write-id']);
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    const missing = [...fresh.tally.okIds, ...reused.tally.okIds].filter((id) => !seen.has(id));
    expect(missing, 'answered 2xx but never reached the upstream').toEqual([]);
    // A write sent again after its connection closed had never been read by nginx (it discards what arrives on
    // a connection it is closing), so nothing reaches the upstream twice.
    const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    expect(twice, 'delivered twice').toEqual([]);
    const writesUpstream = upstream.requests.filter((r) => r.headers['x-write-id'] !== undefined).length;
    expect(writesUpstream, 'writes the upstream received').toBe(fresh.tally.ok + reused.tally.ok);

    // The edge decided writes in every mode that sends it any (mirror, canary, selective, full).
    const perMode = decisionsAt.slice(1).map((n, i) => n - decisionsAt[i]!);
    expect(
      perMode.slice(0, 5).every((n) => n > 0),
      `edge decisions per mode: ${perMode.join(', ')}`,
    ).toBe(true);
  });
});
