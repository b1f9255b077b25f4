// Mimir's partial acceptance through the real proxy: a client → the edge → a recording upstream. The upstream
// must receive only the valid series (re-encoded, snappy), and the client must get Mimir's 400 for the first
// invalid one only after the upstream accepted the rest; the tenant is charged for what was forwarded.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import snappy from 'snappy';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { RW2_CONTENT_TYPE, rw2RequestType, rw2SnappyBody } from '../helpers/rw2-request.js';
import { encodeWriteRequest, snappyBody, writeRequest, writeRequestType } from '../helpers/write-request.js';
import type { SeriesSpec } from '../helpers/write-request.js';

const OVERRIDES = `
overrides:
  partial:
    max_label_value_length: 8
  strict:
    max_label_value_length: 8
    partial_acceptance: false
  meta:
    max_metadata_length: 10
  budget:
    max_label_value_length: 8
    ingestion_rate: 0.001
    ingestion_burst_size: 3
`;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {}, OVERRIDES);
});
afterAll(async () => {
  await edge.stop();
  await upstream.close();
});
afterEach(() => {
  upstream.requests.length = 0;
  upstream.respond.status = 200;
  upstream.respond.body = '';
});

async function push(tenant: string, body: Buffer, contentType = 'application/x-protobuf') {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'content-encoding': 'snappy', 'x-scope-orgid': tenant },
    body,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** The __name__ of every series the upstream received in its one request. */
function receivedNames(): string[] {
  expect(upstream.requests, 'requests that reached the upstream').toHaveLength(1);
  const got = upstream.requests[0]!;
  const decoded = writeRequestType.decode(snappy.uncompressSync(got.body) as Buffer);
  const obj = writeRequestType.toObject(decoded) as {
    timeseries: { labels: { name: string; value: string }[] }[];
  };
  return obj.timeseries.map((t) => t.labels.find((l) => l.name === '__name__')!.value);
}

const MIXED: SeriesSpec[] = [
  { labels: { __name__: 'ok_1', job: 'short' }, samples: 2 },
  { labels: { __name__: 'bad', job: 'much-too-long-value' }, samples: 5 },
  { labels: { __name__: 'ok_2', job: 'short' }, samples: 1 },
];

describe('partial acceptance (the default, as Mimir)', () => {
  it('forwards only the valid series and answers Mimir’s 400 for the first invalid one', async () => {
    upstream.respond.status = 200;
    const res = await push('partial', snappyBody(MIXED));
    expect(res.status).toBe(400);
    expect(res.text).toContain('err-mimir-label-value-too-long');
    expect(res.text).toContain(`bad{job="much-too-long-value"}`);
    expect(receivedNames()).toEqual(['ok_1', 'ok_2']);
    expect(upstream.requests[0]!.headers['content-encoding']).toBe('snappy');
  });

  it('relays the upstream’s own failure instead of the 400, so the sender retries and loses nothing', async () => {
    upstream.respond.status = 500;
    upstream.respond.body = 'ingesters unavailable';
    const res = await push('partial', snappyBody(MIXED));
    expect(res.status).toBe(500);
    expect(res.text).toBe('ingesters unavailable');
    expect(receivedNames()).toEqual(['ok_1', 'ok_2']);
  });

  it('forwards nothing when every series is invalid', async () => {
    const res = await push('partial', snappyBody([MIXED[1]!]));
    expect(res.status).toBe(400);
    expect(res.text).toContain('err-mimir-label-value-too-long');
    expect(upstream.requests).toHaveLength(0);
  });

  it('forwards a request whose series are all valid byte for byte', async () => {
    const body = snappyBody([MIXED[0]!, MIXED[2]!]);
    const res = await push('partial', body);
    expect(res.status).toBe(200);
    expect(upstream.requests[0]!.body.equals(body)).toBe(true);
  });

  it('does the same for remote write 2.0', async () => {
    const res = await push('partial', rw2SnappyBody(MIXED), RW2_CONTENT_TYPE);
    expect(res.status).toBe(400);
    expect(res.text).toContain('err-mimir-label-value-too-long');
    expect(upstream.requests).toHaveLength(1);
    const decoded = rw2RequestType.toObject(
      rw2RequestType.decode(snappy.uncompressSync(upstream.requests[0]!.body) as Buffer),
    ) as { symbols: string[]; timeseries: { labelsRefs: number[] }[] };
    const names = decoded.timeseries.map((t) => decoded.symbols[t.labelsRefs[1]!]);
    expect(names).toEqual(['ok_1', 'ok_2']);
  });

  it('charges the tenant only for the forwarded series', async () => {
    // Burst 3: the 3 valid samples fit, the 8 of the whole request would not.
    const first = await push('budget', snappyBody(MIXED));
    expect(first.status).toBe(400);
    expect(receivedNames()).toEqual(['ok_1', 'ok_2']);
    upstream.requests.length = 0;
    const second = await push('budget', snappyBody([MIXED[0]!]));
    expect(second.status, 'the bucket holds nothing after the 3 forwarded samples').toBe(429);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('strict tenants (partial_acceptance: false)', () => {
  it('refuse the whole request with the same 400 and forward nothing', async () => {
    const res = await push('strict', snappyBody(MIXED));
    expect(res.status).toBe(400);
    expect(res.text).toContain(`bad{job="much-too-long-value"}`);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('max_metadata_length (as Mimir)', () => {
  function withMetadata(names: string[]): Buffer {
    const req = writeRequest([MIXED[0]!], 0);
    req.metadata = names.map((n) => ({
      type: 1,
      metricFamilyName: n,
      help: 'a HELP longer than ten bytes',
      unit: '',
    }));
    return snappy.compressSync(encodeWriteRequest(req));
  }

  it('forwards the series and the valid metadata, and answers Mimir’s 400 for the metadata it drops', async () => {
    const res = await push('meta', withMetadata(['short_m', 'much_too_long_name']));
    expect(res.status).toBe(400);
    expect(res.text).toContain('err-mimir-metric-name-too-long');
    expect(res.text).toContain(`'much_too_long_name'`);
    expect(receivedNames()).toEqual(['ok_1']);
    const sent = writeRequestType.toObject(
      writeRequestType.decode(snappy.uncompressSync(upstream.requests[0]!.body) as Buffer),
    ) as { metadata: { metricFamilyName: string; help: string }[] };
    expect(sent.metadata.map((m) => m.metricFamilyName)).toEqual(['short_m']);
    expect(sent.metadata[0]!.help, 'HELP goes as sent: Mimir truncates it itself').toBe(
      'a HELP longer than ten bytes',
    );
  });

  it('forwards metadata with a long HELP untouched: Mimir truncates it and accepts the request', async () => {
    const body = withMetadata(['short_m']);
    const res = await push('meta', body);
    expect(res.status).toBe(200);
    expect(upstream.requests[0]!.body.equals(body)).toBe(true);
  });
});
