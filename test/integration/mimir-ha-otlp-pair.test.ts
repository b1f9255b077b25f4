// An HA pair of two OTLP senders (one protobuf, one JSON, like two collectors of one cluster) writing through the
// real proxy, on the real clock, into a recording upstream: only the elected replica's requests arrive, the other
// gets 202, and once the elected one falls silent for ha_tracker_failover_timeout the other takes over.

import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { encodeOtlpJson, encodeOtlpProto, otlpRequest, otlpRequestType } from '../helpers/otlp-request.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordedRequest, RecordingUpstream } from '../helpers/recording-upstream.js';

const TENANT = 'otlp-ha-pair';
const FAILOVER_MS = 800;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  const overrides = {
    [TENANT]: {
      accept_ha_samples: true,
      ha_tracker_failover_timeout: `${FAILOVER_MS}ms`,
      // The replica label is removed before validation: with it, every series would be one label over.
      max_label_names_per_series: 4,
    },
  };
  edge = await startEdge(upstream.url, {}, stringify({ overrides }));
});
afterAll(async () => {
  await edge?.stop();
  await upstream?.close();
});

type Replica = 'collector-0' | 'collector-1';
/** collector-0 sends protobuf, collector-1 JSON. */
async function send(replica: Replica): Promise<number> {
  const body = otlpRequest([
    {
      attributes: { 'service.name': 'checkout', 'service.instance.id': 'pod-7' },
      metrics: [
        {
          name: 'http_requests',
          kind: 'sum',
          points: [{ attributes: { cluster: 'eu-1', __replica__: replica } }],
        },
      ],
    },
  ]);
  const proto = replica === 'collector-0';
  const res = await request(`${edge.proxyUrl}/otlp/v1/metrics`, {
    method: 'POST',
    headers: {
      'content-type': proto ? 'application/x-protobuf' : 'application/json',
      'x-scope-orgid': TENANT,
    },
    body: proto ? encodeOtlpProto(body) : encodeOtlpJson(body),
  });
  await res.body.text();
  return res.statusCode;
}

/** The __replica__ attribute of the first point of a request the upstream received. */
function replicaOf(r: RecordedRequest): string {
  const json = r.headers['content-type'] === 'application/json';
  const req = (
    json
      ? JSON.parse(r.body.toString('utf8'))
      : otlpRequestType.toObject(otlpRequestType.decode(r.body), { longs: String })
  ) as {
    resourceMetrics: {
      scopeMetrics: {
        metrics: {
          sum: { dataPoints: { attributes: { key: string; value: { stringValue: string } }[] }[] };
        }[];
      }[];
    }[];
  };
  const point = req.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.sum.dataPoints[0]!;
  return point.attributes.find((a) => a.key === '__replica__')!.value.stringValue;
}

describe('an HA pair of OTLP senders through the proxy', () => {
  it('forwards only the elected replica, answers the other 202, and fails over after the timeout', async () => {
    expect(await send('collector-0'), 'the first replica seen is elected').toBe(200);
    // The elected replica was last seen no earlier than the start of the last round.
    let lastSeenAtLeast = 0;
    for (let round = 0; round < 5; round++) {
      lastSeenAtLeast = Date.now();
      const [elected, other] = await Promise.all([send('collector-0'), send('collector-1')]);
      expect(elected, `round ${round}: the elected replica`).toBe(200);
      expect(other, `round ${round}: the other replica is deduplicated`).toBe(202);
      await sleep(50);
    }
    expect(upstream.requests.map(replicaOf), 'only the elected replica reached the upstream').toEqual(
      Array(6).fill('collector-0'),
    );

    // collector-0 falls silent; collector-1 keeps sending until it is elected.
    let status = 0;
    while (status !== 200 && Date.now() - lastSeenAtLeast < 5 * FAILOVER_MS) {
      await sleep(100);
      status = await send('collector-1');
      if (status !== 200) expect(status, 'deduplicated until the failover').toBe(202);
    }
    const tookOver = Date.now() - lastSeenAtLeast;
    expect(status, 'collector-1 is elected once collector-0 was silent for the timeout').toBe(200);
    expect(tookOver).toBeGreaterThanOrEqual(FAILOVER_MS);
    expect(await send('collector-0'), 'the old replica is now the deduplicated one').toBe(202);
    expect(upstream.requests.map(replicaOf).slice(6)).toEqual(['collector-1']);
  }, 15_000);
});
