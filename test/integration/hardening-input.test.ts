// Hostile input on the proxy port, sent over raw sockets where an HTTP client would refuse to misbehave:
// slowloris headers, stalled bodies, oversized headers, request smuggling, hostile tenant ids and
// decompression bombs. Each gets a clear status, nothing reaches the upstream, and the edge keeps serving.

import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import snappy from 'snappy';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { encodeWriteRequest, manySeries, snappyBody, writeRequest } from '../helpers/write-request.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';

const HEADERS_TIMEOUT_MS = 500;
const REQUEST_TIMEOUT_MS = 1000;
const MAX_REQUEST_BYTES = 1024 * 1024;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let port: number;

interface RawResult {
  /** Everything the edge sent back before closing. */
  text: string;
  status: number | undefined;
  /** Milliseconds from connect until the edge closed the connection. */
  closedAfterMs: number;
}

/**
 * Opens a socket, writes `parts` one after the other with `gapMs` between them (stopping once the edge
 * closes), and resolves when the edge closes the connection; fails if it is still open after `limitMs`.
 */
function raw(parts: readonly (string | Buffer)[], gapMs = 0, limitMs = 8000): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let closed = false;
    const limit = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the edge kept the connection open for more than ${limitMs} ms`));
    }, limitMs);
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      clearTimeout(limit);
      const text = Buffer.concat(received).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : undefined, closedAfterMs: Date.now() - started });
    });
    socket.on('connect', async () => {
      for (const part of parts) {
        if (closed) return;
        socket.write(part);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

const RW = 'content-type: application/x-protobuf\r\ncontent-encoding: snappy\r\n';

async function push(body: Buffer, headers: Record<string, string>) {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', ...headers },
    body,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {
    PROXY_HEADERS_TIMEOUT: `${HEADERS_TIMEOUT_MS}ms`,
    PROXY_REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms`,
    PROXY_MAX_HEADER_BYTES: '4096',
    MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
  });
  port = edge.service.proxyPort;
});
afterAll(async () => {
  await edge.stop();
  await upstream.close();
});
afterEach(async () => {
  // Whatever was thrown at it, the edge still serves an honest sender.
  const ok = await push(snappyBody(manySeries(2, 3)), { 'x-scope-orgid': 'honest' });
  expect(ok.status).toBe(200);
  upstream.requests.length = 0;
});

describe('slow clients', () => {
  it('disconnects a client whose headers trickle in (slowloris) with 408 once PROXY_HEADERS_TIMEOUT has passed', async () => {
    const parts = ['POST /api/v1/push HTTP/1.1\r\nhost: edge\r\n'];
    for (let i = 0; i < 40; i++) parts.push(`x-slow-${i}: ${i}\r\n`);
    const res = await raw(parts, 100);
    expect(res.status).toBe(408);
    expect(res.text).toContain('err-mimir-edge-request-timeout');
    expect(res.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(res.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
    expect(upstream.requests).toHaveLength(0);
  });

  it('disconnects a client that stalls in the middle of its body once PROXY_REQUEST_TIMEOUT has passed', async () => {
    const res = await raw([
      `POST /api/v1/push HTTP/1.1\r\nhost: edge\r\nx-scope-orgid: team-a\r\n${RW}content-length: 1000\r\n\r\n`,
      Buffer.alloc(100, 1),
    ]);
    expect(res.status).toBe(408);
    expect(res.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(res.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 2500);
    expect(upstream.requests).toHaveLength(0);
    const samples = await scrapeMetrics(edge.metricsUrl);
    expect(
      sumMetric(samples, 'rls_client_errors_total', { cause: 'request_timeout' }),
    ).toBeGreaterThanOrEqual(2);
    expect(sumMetric(samples, 'rls_inflight_bytes')).toBe(0);
  });
});

describe('malformed requests', () => {
  it('answers 431 for headers larger than PROXY_MAX_HEADER_BYTES', async () => {
    const res = await raw([`GET /api/v1/query HTTP/1.1\r\nhost: edge\r\nx-big: ${'a'.repeat(8000)}\r\n\r\n`]);
    expect(res.status).toBe(431);
    expect(res.text).toContain('err-mimir-edge-headers-too-large');
    expect(upstream.requests).toHaveLength(0);
  });

  const smuggling: [string, string][] = [
    ['Content-Length with Transfer-Encoding', 'content-length: 6\r\ntransfer-encoding: chunked\r\n'],
    ['two different Content-Lengths', 'content-length: 6\r\ncontent-length: 60\r\n'],
    ['Transfer-Encoding that is not chunked last', 'transfer-encoding: chunked, identity\r\n'],
    ['an obfuscated Transfer-Encoding', 'transfer-encoding : chunked\r\n'],
    ['a Content-Length that is not a number', 'content-length: 6, 6x\r\n'],
  ];
  it.each(smuggling)('rejects %s with 400 and closes, forwarding nothing', async (_name, framing) => {
    const res = await raw([
      `POST /api/v1/other HTTP/1.1\r\nhost: edge\r\n${framing}\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: edge\r\n\r\n`,
    ]);
    expect(res.status).toBe(400);
    expect(res.text).toContain('err-mimir-edge-bad-request');
    // Exactly one answer: the smuggled second request was never read as a request.
    expect(res.text.match(/HTTP\/1\.1 \d{3} /g)).toHaveLength(1);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('hostile tenant ids', () => {
  it('refuses control characters in the tenant header before anything is read', async () => {
    const res = await raw([
      `POST /api/v1/push HTTP/1.1\r\nhost: edge\r\nx-scope-orgid: team\x01a\r\n${RW}content-length: 0\r\n\r\n`,
    ]);
    expect(res.status).toBe(400);
    expect(upstream.requests).toHaveLength(0);
  });

  const hostile: [string, string][] = [
    ['a Cyrillic look-alike', 't\u0435am-a'],
    ['a fullwidth look-alike', '\uff54eam-a'],
    ['a multi-tenant separator', 'team-a|team-b'],
    ['a path separator', 'team-a/../admin'],
    ['a colon', 'team-a:b'],
    ['a space', 'team a'],
    ['the reserved "..', '..'],
    ['151 characters', 'a'.repeat(151)],
  ];
  it.each(hostile)(
    // 401, as Mimir 2.12+ answers an id its tenant-id check refuses (docs/mimir-compatibility.md).
    'answers 401 for %s, forwards nothing and keeps it out of metric labels',
    async (_name, tenant) => {
      // Header values are bytes: send the UTF-8 bytes of the id, as a hostile client would.
      const res = await raw([
        Buffer.concat([
          Buffer.from('POST /api/v1/push HTTP/1.1\r\nhost: edge\r\nx-scope-orgid: '),
          Buffer.from(tenant, 'utf8'),
          Buffer.from(`\r\n${RW}content-length: 0\r\nconnection: close\r\n\r\n`),
        ]),
      ]);
      expect(res.status).toBe(401);
      expect(res.text).toContain('invalid');
      expect(upstream.requests).toHaveLength(0);
      const samples = await scrapeMetrics(edge.metricsUrl);
      const tenants = new Set(
        samples.filter((s) => s.name === 'rls_decisions_total').map((s) => s.labels.tenant),
      );
      for (const t of tenants) expect(['<none>', 'honest']).toContain(t);
    },
  );
});

describe('decompression bombs', () => {
  it('answers 413 for a snappy body that declares more than MAX_REQUEST_BYTES, without inflating it', async () => {
    // The snappy preamble is the uncompressed length as a varint: claim 2 GiB in a 10-byte body.
    const bomb = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]);
    const res = await push(bomb, { 'x-scope-orgid': 'team-a' });
    expect(res.status).toBe(413);
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 413 for a real snappy bomb: 64 MiB of repeated series compressed into a small body', async () => {
    const one = encodeWriteRequest(writeRequest(manySeries(2000, 10)));
    const inflated = Buffer.concat(
      Array.from({ length: Math.ceil((4 * MAX_REQUEST_BYTES) / one.length) }, () => one),
    );
    const bomb = snappy.compressSync(inflated);
    expect(bomb.length).toBeLessThan(MAX_REQUEST_BYTES);
    const res = await push(bomb, { 'x-scope-orgid': 'team-a' });
    expect(res.status).toBe(413);
    expect(res.text).toContain('err-mimir-distributor-max-write-message-size');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 413 for a gzip bomb on the OTLP path: 64 MiB of zeros in a 64 KiB body', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(MAX_REQUEST_BYTES);
    const res = await request(`${edge.proxyUrl}/otlp/v1/metrics`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'gzip',
        'x-scope-orgid': 'team-a',
      },
      body: bomb,
    });
    const text = await res.body.text();
    expect(res.statusCode, text).toBe(413);
    expect(upstream.requests).toHaveLength(0);
  });
});
