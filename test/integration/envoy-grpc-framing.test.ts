// The lean gRPC server's request assembly, over a real HTTP/2 connection from node:http2's client: a request body
// split into DATA frames at arbitrary points must reach the handler byte for byte, in whatever order concurrent
// streams interleave; a body with more or fewer bytes than its prefix, or over the size cap, ends only its own
// call with the right status. Bodies are assembled in reused buffers, so a handler that answers later (a
// Promise) must still see its own bytes after other calls have reused the pool.

import { connect } from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcServer } from '../../src/gateway/grpc/grpc-server.js';
import { GrpcStatus } from '../../src/gateway/grpc/grpc-status.js';
import { WireWriter } from '../../src/wire/protobuf-writer.js';

const MAX_MESSAGE = 600_000;
const DIGEST = '/test.Framing/Digest';
const LATER = '/test.Framing/DigestLater';

/** The reply: field 1 = sha256 of the message as hex, field 2 = its length. */
function digestReply(message: Buffer): Buffer {
  const hex = createHash('sha256').update(message).digest('hex');
  return new WireWriter(128).varint(2, message.length).string(1, hex).finishFramed();
}

let server: GrpcServer;
/** Pending LATER answers, released by the test. */
const held: (() => void)[] = [];
let client: ClientHttp2Session;

beforeAll(async () => {
  server = new GrpcServer({ maxMessageBytes: MAX_MESSAGE });
  server.addUnary(DIGEST, (message) => digestReply(message));
  // Reads the message only when the test says so, after other calls have run (and reused buffers).
  server.addUnary(
    LATER,
    (message) =>
      new Promise((resolve) => {
        held.push(() => resolve(digestReply(message)));
      }),
  );
  const port = await server.listen(0, '127.0.0.1');
  client = connect(`http://127.0.0.1:${port}`);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
});

afterAll(async () => {
  client?.close();
  await server?.close(1000);
});

interface Answer {
  status: string | undefined;
  message: string | undefined;
  body: Buffer;
}

/** One call whose request body is written in the given pieces (one write, and so one or more frames, each). */
function call(path: string, pieces: readonly Buffer[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc' });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    let message: string | undefined;
    const take = (h: Record<string, unknown>): void => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) message = String(h['grpc-message']);
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('close', () => resolve({ status, message, body: Buffer.concat(chunks) }));
    const write = (i: number): void => {
      if (i === pieces.length) {
        req.end();
        return;
      }
      // Yield between pieces so they leave as separate DATA frames.
      req.write(pieces[i], () => setImmediate(() => write(i + 1)));
    };
    write(0);
  });
}

function framed(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

function split(body: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const p of [...points, body.length]) {
    if (p > from) pieces.push(body.subarray(from, p));
    from = Math.max(from, p);
  }
  return pieces.length > 0 ? pieces : [body];
}

function expectDigest(answer: Answer, message: Buffer): void {
  expect(answer.status).toBe('0');
  const hex = createHash('sha256').update(message).digest('hex');
  expect(answer.body.subarray(5).toString('latin1')).toContain(hex);
}

describe('gRPC request assembly', () => {
  it('hands the handler the exact message however the body is cut into frames', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Sizes up to 300 KB (many DATA frames), with bytes that differ along the message.
        fc.integer({ min: 0, max: 300_000 }),
        fc.nat(255),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (length, seed, cuts) => {
          const message = Buffer.alloc(length);
          for (let i = 0; i < length; i++) message[i] = (i * 31 + seed) & 0xff;
          expectDigest(await call(DIGEST, split(framed(message), cuts)), message);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps concurrent streams apart', async () => {
    const messages = Array.from({ length: 24 }, (_, i) => Buffer.alloc(40_000 + i * 9_000, i + 1));
    const answers = await Promise.all(
      messages.map((m) => call(DIGEST, split(framed(m), [7, 16_384, 33_000, 90_001]))),
    );
    answers.forEach((a, i) => expectDigest(a, messages[i]!));
  });

  it('does not reuse the buffer of a call whose handler answers later', async () => {
    const waiting = Array.from({ length: 4 }, (_, i) => Buffer.alloc(120_000, 0x10 + i));
    const later = waiting.map((m) => call(LATER, split(framed(m), [60_000])));
    for (let i = 0; i < 200 && held.length < waiting.length; i++) await new Promise((r) => setTimeout(r, 5));
    expect(held).toHaveLength(waiting.length);
    // These take scratch buffers while the four held handlers have not read theirs yet.
    const others = Array.from({ length: 8 }, (_, i) => Buffer.alloc(120_000, 0x80 + i));
    for (const m of others) expectDigest(await call(DIGEST, split(framed(m), [60_000])), m);
    for (const release of held.splice(0)) release();
    (await Promise.all(later)).forEach((a, i) => expectDigest(a, waiting[i]!));
  });

  it('refuses a body with bytes after its message, or fewer than announced, and keeps serving', async () => {
    const message = Buffer.alloc(50_000, 7);
    const extra = await call(DIGEST, [framed(message), Buffer.from([0, 0, 0, 0, 1, 9])]);
    expect(extra.status).toBe(String(GrpcStatus.INTERNAL));
    expect(extra.message).toMatch(/exactly one request message/);
    const short = await call(DIGEST, split(framed(message).subarray(0, 30_000), [10_000]));
    expect(short.status).toBe(String(GrpcStatus.INTERNAL));
    expect(short.message).toMatch(/truncated/);
    expectDigest(await call(DIGEST, split(framed(message), [20_000])), message);
  });

  it('refuses a body over the size cap with RESOURCE_EXHAUSTED and keeps serving', async () => {
    const big = Buffer.alloc(MAX_MESSAGE + 1, 3);
    const answer = await call(DIGEST, split(framed(big), [100_000, 300_000]));
    expect(answer.status).toBe(String(GrpcStatus.RESOURCE_EXHAUSTED));
    const ok = Buffer.alloc(MAX_MESSAGE, 4);
    expectDigest(await call(DIGEST, split(framed(ok), [100_000, 300_000])), ok);
  });

  it('returns scratch buffers to the pool after synchronous answers, and keeps no more than its cap', async () => {
    const message = Buffer.alloc(100_000, 5);
    await Promise.all(Array.from({ length: 40 }, () => call(DIGEST, split(framed(message), [50_000]))));
    expect(server.buffers.idleCount).toBeGreaterThan(0);
    expect(server.buffers.idleCount).toBeLessThanOrEqual(16);
  });
});
