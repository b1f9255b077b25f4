// A refused client loses its connection, whether or not it reads the answer: one that trickles header bytes
// and never reads is gone within PROXY_HEADERS_TIMEOUT plus about a second, and so is one that keeps sending
// a body the edge already refused (413). Half-closing and reading on would let it hold the socket for ever.

import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';

const HEADERS_TIMEOUT_MS = 1000;
/** Node checks the timeout every quarter of it; the edge then gives the client a second to read. */
const BOUND_MS = HEADERS_TIMEOUT_MS + 2500;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let proxyPort: number;
const sockets: Socket[] = [];

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {
    PROXY_HEADERS_TIMEOUT: `${HEADERS_TIMEOUT_MS}ms`,
    MAX_REQUEST_BYTES: '1000',
  });
  proxyPort = Number(new URL(edge.proxyUrl).port);
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await edge.stop();
  await upstream.close();
});

/**
 * Opens a socket that never reads (paused) and writes `first`, then `trickle` every 100 ms; resolves to how
 * long the server kept the connection, or to `giveUpMs` if it never let go.
 */
function holdOpen(first: string, trickle: string, giveUpMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(proxyPort, '127.0.0.1');
    sockets.push(socket);
    socket.pause();
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve(Date.now() - started);
    };
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(first);
    const timer = setInterval(() => {
      if (socket.writable) socket.write(trickle);
    }, 100);
    const giveUp = setTimeout(finish, giveUpMs);
  });
}

describe('refused clients lose their connection', () => {
  it('a client trickling header bytes and never reading is gone within the headers timeout + ~1 s', async () => {
    const heldMs = await holdOpen('POST /api/v1/push HTTP/1.1\r\nhost: edge.test\r\nx-slow: ', 'a', 8000);
    expect(heldMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(heldMs).toBeLessThan(BOUND_MS);
  });

  it('a client that keeps sending a body refused with 413 and never reads is gone within ~1 s', async () => {
    const heldMs = await holdOpen(
      'POST /api/v1/push HTTP/1.1\r\nhost: edge.test\r\nx-scope-orgid: slow\r\n' +
        'content-type: application/x-protobuf\r\ncontent-encoding: snappy\r\ncontent-length: 100000000\r\n\r\n',
      'x'.repeat(512),
      8000,
    );
    expect(heldMs).toBeLessThan(2500);
  });

  it('a client that keeps sending after a 400 for its request target is gone within ~1 s', async () => {
    const heldMs = await holdOpen(
      'POST http://x/api/v1/push HTTP/1.1\r\nhost: edge.test\r\ncontent-length: 100000000\r\n\r\n',
      'x'.repeat(512),
      8000,
    );
    expect(heldMs).toBeLessThan(2500);
  });
});
