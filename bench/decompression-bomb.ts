// Worst-case cost of decompression bombs: how many milliseconds of event loop one bomb request holds. Two parts:
// 1. measureBody() (decompress + scan, all synchronous on the event loop) for each kind of bomb at the default
//    MAX_REQUEST_BYTES (50 MiB): snappy and gzip bodies that declare more than the cap (refused before inflating),
//    gzip whose trailer lies and a multi-member gzip (both stopped once the output passes the declared size), and
//    the largest bodies that fit (inflated in full and scanned): the last are the bound on one request's work.
// 2. The same bombs through a running edge (in this process, real sockets) for a tenant with requests left and for
//    one out of request_rate: event-loop active time per request (performance.eventLoopUtilization; it includes
//    this process's HTTP client, so the 429 row is an upper bound for the edge's own work).
// Usage: npm run bench:bomb [-- --quick]

import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import snappy from 'snappy';
import { request } from 'undici';

import { BodyDecodeError } from '../src/remote-write/errors.js';
import { measureBody, selectDecoder, isUnsupportedMediaType } from '../src/remote-write/format.js';
import type { BodyDecoder } from '../src/remote-write/format.js';
import { startEdge } from '../test/helpers/edge-service.js';
import { startRecordingUpstream } from '../test/helpers/recording-upstream.js';
import { encodeWriteRequest, manySeries, writeRequest } from '../test/helpers/write-request.js';

const quick = process.argv.includes('--quick');
const CAP = 52_428_800; // MAX_REQUEST_BYTES' default
const ROUNDS = quick ? 3 : 9;

function decoder(path: string, type: string, encoding: string): BodyDecoder {
  const d = selectDecoder(path, type, encoding);
  if (isUnsupportedMediaType(d)) throw new Error(d.unsupported);
  return d;
}
const RW1 = decoder('/api/v1/push', 'application/x-protobuf', 'snappy');
const OTLP_GZIP = decoder('/otlp/v1/metrics', 'application/x-protobuf', 'gzip');

/** `target` bytes of remote write 1.0 (whole WriteRequests concatenated, which is one valid WriteRequest). */
function rw1Bytes(target: number): Buffer {
  const one = encodeWriteRequest(writeRequest(manySeries(2000, 10)));
  return Buffer.concat(Array.from({ length: Math.floor(target / one.length) }, () => one));
}

function withIsize(gz: Buffer, isize: number): Buffer {
  const copy = Buffer.from(gz);
  copy.writeUInt32LE(isize >>> 0, copy.length - 4);
  return copy;
}

interface Bomb {
  name: string;
  d: BodyDecoder;
  body: Buffer;
  path: string;
  headers: Record<string, string>;
}

const RW_HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' };
const OTLP_HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' };

function bombs(): Bomb[] {
  const zeros = gzipSync(Buffer.alloc(CAP + 1024 * 1024), { level: 9 });
  const fitZeros = gzipSync(Buffer.alloc(CAP - 1024), { level: 9 });
  const rw = (name: string, body: Buffer): Bomb => ({
    name,
    d: RW1,
    body,
    path: '/api/v1/push',
    headers: RW_HEADERS,
  });
  const otlp = (name: string, body: Buffer): Bomb => ({
    name,
    d: OTLP_GZIP,
    body,
    path: '/otlp/v1/metrics',
    headers: OTLP_HEADERS,
  });
  const underCap = rw1Bytes(CAP - 64 * 1024);
  return [
    rw('snappy, preamble declares 2 GiB', Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08, 0, 0, 0, 0, 0])),
    rw('snappy, 51 MiB of RW1 (declares > cap)', snappy.compressSync(rw1Bytes(CAP + 1024 * 1024))),
    rw('snappy, 50 MiB of RW1 (fits: inflated + scanned)', snappy.compressSync(underCap)),
    otlp('gzip, 51 MiB of zeros, honest trailer', zeros),
    otlp('gzip, 51 MiB of zeros, trailer says 10 B', withIsize(zeros, 10)),
    otlp('gzip, two members, last says 10 B', Buffer.concat([zeros.subarray(0), gzipSync(Buffer.alloc(10))])),
    otlp('gzip, 50 MiB of zeros (fits: inflated)', fitZeros),
  ];
}

function outcome(b: Bomb): string {
  try {
    measureBody(b.d, b.body, CAP);
    return 'measured';
  } catch (err) {
    if (err instanceof BodyDecodeError) return err.code;
    throw err;
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const all = bombs();
  console.log(
    `decompression bombs, MAX_REQUEST_BYTES=${CAP}, ${ROUNDS} rounds, median ms of event loop per request\n`,
  );
  console.log('1. measureBody() alone (decompress + scan, synchronous)');
  const rows: Record<string, unknown>[] = [];
  for (const b of all) {
    const times: number[] = [];
    let result = '';
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      result = outcome(b);
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    rows.push({ bomb: b.name, sent_bytes: b.body.length, outcome: result, ms: Number(ms.toFixed(2)) });
  }
  console.table(rows);

  console.log('2. through a running edge: event-loop active ms per request (client included)');
  const upstream = await startRecordingUpstream();
  const edge = await startEdge(
    upstream.url,
    {},
    'overrides:\n  spent:\n    request_rate: 0.0001\n    request_burst_size: 1\n',
  );
  try {
    // Use up `spent`'s one request.
    await request(`${edge.proxyUrl}/api/v1/push`, {
      method: 'POST',
      headers: { ...RW_HEADERS, 'x-scope-orgid': 'spent' },
      body: snappy.compressSync(encodeWriteRequest(writeRequest(manySeries(1, 2)))),
    }).then((r) => r.body.text());
    const edgeRows: Record<string, unknown>[] = [];
    for (const b of all) {
      for (const tenant of ['fresh', 'spent']) {
        const times: number[] = [];
        let status = 0;
        for (let i = 0; i < ROUNDS; i++) {
          const before = performance.eventLoopUtilization();
          const res = await request(`${edge.proxyUrl}${b.path}`, {
            method: 'POST',
            headers: {
              ...b.headers,
              'x-scope-orgid': tenant === 'fresh' ? `fresh-${i}-${all.indexOf(b)}` : tenant,
            },
            body: b.body,
          });
          await res.body.text();
          status = res.statusCode;
          times.push(performance.eventLoopUtilization(before).active);
        }
        edgeRows.push({
          bomb: b.name,
          tenant: tenant === 'fresh' ? 'requests left' : 'out of request_rate',
          status,
          ms: Number(median(times).toFixed(2)),
        });
      }
    }
    console.table(edgeRows);
    console.log(JSON.stringify({ bench: 'decompression-bomb', cap: CAP, measureBody: rows, edge: edgeRows }));
  } finally {
    await edge.stop();
    await upstream.close();
  }
}

await main();
