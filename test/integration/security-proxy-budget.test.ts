// What one client can hold of the proxy: sockets that declare big bodies and send nothing hold no part of
// the in-flight byte budget, so another tenant's write still passes; a body that stalls is cut with 408
// within PROXY_BODY_IDLE_TIMEOUT. And `Connection:` tokens cannot strip the headers a decision read: the
// upstream gets the body's Content-Type/-Encoding and the tenant the edge charged.

import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const MIB = 1024 * 1024;
const IDLE_MS = 1000;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let proxyPort: number;
const open: Socket[] = [];

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {
    // Room for two 50 MiB bodies at once: two sockets declaring 50 MiB used to take all of it (the first
    // is admitted whatever its size, the rest up to the bound) before sending a byte.
    MAX_INFLIGHT_BYTES: String(100 * MIB),
    PROXY_BODY_IDLE_TIMEOUT: `${IDLE_MS}ms`,
    TENANT_FROM_BASIC_AUTH: 'true',
  });
  proxyPort = Number(new URL(edge.proxyUrl).port);
});
afterAll(async () => {
  for (const s of open) s.destroy();
  await edge.stop();
  await upstream.close();
});

/** Opens a socket and sends the head of a remote write declaring `declared` bytes, then `sent` bytes. */
function startWrite(tenant: string, declared: number, sent: number): Socket {
  const socket = connect(proxyPort, '127.0.0.1');
  open.push(socket);
  socket.on('error', () => {});
  socket.write(
    `POST /api/v1/push HTTP/1.1\r\nhost: edge.test\r\nx-scope-orgid: ${tenant}\r\n` +
      `content-type: application/x-protobuf\r\ncontent-encoding: snappy\r\ncontent-length: ${declared}\r\n\r\n`,
  );
  if (sent > 0) socket.write(Buffer.alloc(sent, 0x0a));
  return socket;
}

/** The response text a socket got by the time it closed (or after `ms`), and when it closed. */
function responseOf(socket: Socket, ms: number): Promise<{ text: string; closedAfterMs: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const done = (): void => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedAfterMs: Date.now() - started });
    };
    const timer = setTimeout(done, ms);
    socket.once('close', done);
  });
}

describe('Connection tokens', () => {
  async function rawWrite(headers: string[]): Promise<string> {
    const body = snappyBody(manySeries(3));
    const socket = connect(proxyPort, '127.0.0.1');
    socket.on('error', () => {});
    const got = responseOf(socket, 5000);
    socket.write(
      ['POST /api/v1/push HTTP/1.1', 'host: edge.test', ...headers, `content-length: ${body.length}`].join(
        '\r\n',
      ) + '\r\n\r\n',
    );
    socket.write(body);
    const { text } = await got;
    return text;
  }

  it('never strip the tenant header, Content-Type or Content-Encoding the decision read', async () => {
    const before = upstream.requests.length;
    const text = await rawWrite([
      'connection: close, X-Scope-OrgID, Content-Type, Content-Encoding, x-hop',
      'x-scope-orgid: team-a',
      'content-type: application/x-protobuf',
      'content-encoding: snappy',
      'x-hop: dropped',
    ]);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    const got = upstream.requests.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.headers['x-scope-orgid']).toBe('team-a');
    expect(got[0]!.headers['content-type']).toBe('application/x-protobuf');
    expect(got[0]!.headers['content-encoding']).toBe('snappy');
    // A header the client really declared hop-by-hop is still dropped.
    expect(got[0]!.headers['x-hop']).toBeUndefined();
  });

  it('never strip Authorization, and the upstream gets the basic-auth tenant the edge charged', async () => {
    const before = upstream.requests.length;
    const auth = 'Basic ' + Buffer.from('team-b:secret').toString('base64');
    const text = await rawWrite([
      'connection: close, Authorization',
      `authorization: ${auth}`,
      'content-type: application/x-protobuf',
      'content-encoding: snappy',
    ]);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    const got = upstream.requests.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.headers['authorization']).toBe(auth);
    expect(got[0]!.headers['x-scope-orgid']).toBe('team-b');
  });
});

describe('the in-flight byte budget', () => {
  it('is not taken by sockets that declare 50 MiB bodies and send nothing', async () => {
    const idle = Array.from({ length: 6 }, () => startWrite('hog', 50 * MIB - 1, 0));
    try {
      await new Promise((r) => setTimeout(r, 200));
      const status = await pushRemoteWrite(edge.proxyUrl, 'victim', snappyBody(manySeries(10)));
      expect(status).toBe(200);
    } finally {
      for (const s of idle) s.destroy();
      // Their requests end when the edge sees the sockets close.
      await new Promise((r) => setTimeout(r, 300));
    }
  });

  it('allocates for what arrived, not for the declared length', async () => {
    // The edge runs in this process: its buffers are this process's ArrayBuffer memory.
    const before = process.memoryUsage().arrayBuffers;
    const hogs = Array.from({ length: 2 }, () => startWrite('hog', 50 * MIB - 1, 1024));
    try {
      await new Promise((r) => setTimeout(r, 300));
      const grown = process.memoryUsage().arrayBuffers - before;
      // Two 50 MiB buffers allocated at the first chunk would be 100 MiB; what arrived is 2 KiB.
      expect(grown).toBeLessThan(20 * MIB);
    } finally {
      for (const s of hogs) s.destroy();
      await new Promise((r) => setTimeout(r, 300));
    }
  });

  it('cuts a body that stalls with 408 within PROXY_BODY_IDLE_TIMEOUT, and frees what it held', async () => {
    const before = upstream.requests.length;
    const socket = startWrite('stall', 10 * MIB, 64 * 1024);
    const res = await responseOf(socket, 10_000);
    expect(res.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(res.text).toContain('PROXY_BODY_IDLE_TIMEOUT');
    expect(res.closedAfterMs).toBeLessThan(IDLE_MS + 2500);
    expect(upstream.requests.length).toBe(before);
    expect(await pushRemoteWrite(edge.proxyUrl, 'victim', snappyBody(manySeries(10)))).toBe(200);
  });
});
