// End to end: an HA pair of two Prometheus-style senders (same cluster label, replica r1 and r2) remote-writes
// through the edge into a real Prometheus (Debian's, as receiver). Only the elected replica's samples may arrive;
// when the elected one stops sending for longer than the tenant's failover timeout, the other takes over.

import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { sleep, stopAllProcesses } from '../helpers/child-process.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startPrometheus } from '../helpers/prometheus.js';
import type { PrometheusInstance } from '../helpers/prometheus.js';
import { encodeWriteRequest, writeRequest } from '../helpers/write-request.js';
import snappy from 'snappy';

const TENANT = 'ha-e2e';
const FAILOVER_MS = 2_000;
const INTERVAL_MS = 200;
const METRIC = 'ha_pair_sample';

let receiver: PrometheusInstance | undefined;
let edge: EdgeUnderTest | undefined;

beforeAll(async () => {
  requireDebianBinary('prometheus', 'prometheus');
  receiver = await startPrometheus({ name: 'receiver', config: { global: {} }, remoteWriteReceiver: true });
  const overrides = stringify({
    overrides: { [TENANT]: { accept_ha_samples: true, ha_tracker_failover_timeout: `${FAILOVER_MS}ms` } },
  });
  edge = await startEdge(receiver.url, {}, overrides);
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await stopAllProcesses();
}, 30_000);

/** One Prometheus-style write from `replica`: one sample stamped now, the pair's labels on the series. */
async function send(replica: string): Promise<{ status: number; atMs: number }> {
  const atMs = Date.now();
  const body = writeRequest([
    { labels: { __name__: METRIC, cluster: 'pair-1', __replica__: replica, sender: replica } },
  ]);
  body.timeseries[0]!.samples[0]!.timestamp = atMs;
  const res = await request(`${edge!.proxyUrl}/api/v1/write`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      'x-scope-orgid': TENANT,
    },
    body: snappy.compressSync(encodeWriteRequest(body)),
  });
  await res.body.dump();
  return { status: res.statusCode, atMs };
}

/** Sample timestamps (ms) the receiver holds for `replica`. */
async function received(replica: string): Promise<number[]> {
  const series = await receiver!.rawSamples(`${METRIC}{sender="${replica}"}`, 300, Date.now() / 1000 + 1);
  return series.flatMap((s) => s.values.map(([t]) => Math.round(t * 1000))).sort((a, b) => a - b);
}

describe('an HA pair through the edge into Prometheus', () => {
  it('stores only the elected replica, then fails over when it stops sending', async () => {
    const answers: { replica: string; status: number; atMs: number }[] = [];
    const tick = async (replicas: string[]) => {
      for (const r of replicas) answers.push({ replica: r, ...(await send(r)) });
      await sleep(INTERVAL_MS);
    };
    // Both replicas send; r1 is seen first, so it is elected.
    for (let i = 0; i < 10; i++) await tick(['r1', 'r2']);
    // The edge saw r1 last a moment after this (it reads its clock after the sender did).
    const r1StoppedAt = answers.filter((a) => a.replica === 'r1').at(-1)!.atMs;
    // r1 goes away: r2 keeps sending through and past the failover timeout.
    for (let i = 0; i < Math.ceil((FAILOVER_MS * 2) / INTERVAL_MS); i++) await tick(['r2']);

    // Stored: the receiver's own answer (Prometheus says 204); deduplicated: the edge's 202.
    const stored = (status: number) => status === 204;
    const failoverAt = r1StoppedAt + FAILOVER_MS;
    const wrong = answers.filter(({ replica, status, atMs }) => {
      if (replica === 'r1') return !stored(status);
      // 100 ms either side: the edge reads its clock a moment after the sender, for r1 and for r2.
      if (atMs < failoverAt - 100) return status !== 202;
      return atMs > failoverAt + 100 && !stored(status);
    });
    expect(wrong, 'answers that do not follow the election').toEqual([]);

    const r1 = await received('r1');
    const r2 = await received('r2');
    const r1Sent = answers.filter((a) => a.replica === 'r1').map((a) => a.atMs);
    expect(r1, 'every write of the elected r1 is stored').toEqual(r1Sent);
    const r2Accepted = answers.filter((a) => a.replica === 'r2' && stored(a.status)).map((a) => a.atMs);
    expect(r2Accepted.length, 'r2 took over after the failover timeout').toBeGreaterThan(5);
    expect(r2, 'only the writes of r2 after the failover are stored').toEqual(r2Accepted);
    expect(
      r2.every((t) => t >= r1StoppedAt + FAILOVER_MS - 100),
      `no r2 sample before r1 was silent for ${FAILOVER_MS} ms`,
    ).toBe(true);
  }, 60_000);
});
