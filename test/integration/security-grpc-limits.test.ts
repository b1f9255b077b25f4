// What one hostile client can cost the gRPC listeners (8081 ext_authz, 8083 rate limit service): a huge
// hits_addend is taken in one step (no event loop stall), and the HTTP/2 server bounds connections,
// streams, deadlines and buffered bytes the way a production gRPC server does. Real sockets throughout:
// the edge runs in this process, clients are grpc-js (through the shared helper) or raw node:http2 sessions.

import { connect, constants as h2 } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient, rawUnary } from '../helpers/grpc-client.js';
import { GrpcServer } from '../../src/gateway/grpc/grpc-server.js';
import type { GrpcServerLimits } from '../../src/gateway/grpc/grpc-server.js';
import { DEFAULT_GRPC_LIMITS } from '../../src/gateway/grpc/grpc-server.js';

const SHOULD_RATE_LIMIT = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

/** Largest gap between ticks of a 5 ms timer while `work` runs: how long the event loop was blocked. */
async function loopStallDuring<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 5);
  try {
    const result = await work();
    // One more tick, so a stall right at the end is seen too.
    await new Promise((r) => setTimeout(r, 10));
    return { result, stallMs };
  } finally {
    clearInterval(timer);
  }
}

/** A RateLimitRequest by hand: domain, one descriptor {key: value}, hits_addend as a raw varint. */
function rateLimitRequest(domain: string, key: string, value: string, hits: bigint): Buffer {
  const str = (field: number, s: string): Buffer => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
  };
  const varint = (v: bigint): Buffer => {
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return Buffer.from(out);
  };
  const entry = Buffer.concat([str(1, key), str(2, value)]);
  const descriptor = Buffer.concat([Buffer.from([(1 << 3) | 2, entry.length]), entry]);
  return Buffer.concat([
    str(1, domain),
    Buffer.from([(2 << 3) | 2, descriptor.length]),
    descriptor,
    Buffer.from([3 << 3]),
    varint(hits),
  ]);
}

describe('hits_addend', () => {
  let upstream: RecordingUpstream;
  let edge: EdgeUnderTest;
  let client: EnvoyClient;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    edge = await startEdge(
      upstream.url,
      {},
      // request_burst_size 0: Mimir's "no burst limit", so nothing stops a one-token-at-a-time loop.
      'overrides:\n  team-free:\n    request_rate: 10\n    request_burst_size: 0\n' +
        '  team-small:\n    request_rate: 0.001\n    request_burst_size: 5\n',
    );
    client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
  });
  afterAll(async () => {
    client.close();
    await edge.stop();
    await upstream.close();
  });

  it('takes 4e9 hits from a tenant bucket in one step: answered at once, the event loop never stalls', async () => {
    const { result, stallMs } = await loopStallDuring(() =>
      client.shouldRateLimit({
        domain: 'edge',
        descriptors: [{ entries: [{ key: 'X-Scope-OrgID', value: 'team-free' }] }],
        hits_addend: 4e9,
      }),
    );
    expect(result.overall_code).toBe('OK');
    expect(result.statuses[0]?.current_limit?.name).toBe('request_rate');
    // Generous (a shared, busy machine; not a benchmark): one token at a time stalled for over a minute
    // (7.6 s for 4e8 hits), one step costs microseconds.
    expect(stallMs).toBeLessThan(1000);
  });

  it('takes n request tokens all or nothing: more than the burst is over the limit and consumes nothing', async () => {
    const ask = (hits: number) =>
      client.shouldRateLimit({
        domain: 'edge',
        descriptors: [{ entries: [{ key: 'X-Scope-OrgID', value: 'team-small' }] }],
        hits_addend: hits,
      });
    expect((await ask(6)).overall_code).toBe('OVER_LIMIT');
    // The refused 6 took nothing: the whole burst of 5 is still there.
    const five = await ask(5);
    expect(five.overall_code).toBe('OK');
    expect((await ask(1)).overall_code).toBe('OVER_LIMIT');
  });

  it('refuses a hits_addend beyond the uint32 range with INVALID_ARGUMENT instead of wrapping it', async () => {
    const message = rateLimitRequest('edge', 'X-Scope-OrgID', 'team-free', 2n ** 32n + 5n);
    await expect(rawUnary(edge.ratelimitAddress, SHOULD_RATE_LIMIT, message)).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/hits_addend must be at most 4294967295/),
    });
  });
});

/** One HTTP/2 frame: 9-byte header and payload. */
function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/**
 * Opens `streams` gRPC calls at once over a plain TCP socket, ignoring the server's stream limit as a
 * hostile client would, and counts the RST_STREAM(REFUSED_STREAM) frames that come back within `ms`.
 */
async function refusedStreams(address: string, streams: number, ms: number): Promise<number> {
  const [host, port] = address.split(':');
  const socket = netConnect(Number(port), host!);
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  const literal = (index: number, value: string): Buffer => {
    // Literal header field without indexing, indexed name (RFC 7541 6.2.2), 4-bit prefix.
    const name = index < 15 ? Buffer.from([index]) : Buffer.from([0x0f, index - 15]);
    return Buffer.concat([name, Buffer.from([value.length]), Buffer.from(value)]);
  };
  const block = Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http
    literal(4, SHOULD_RATE_LIMIT), // :path
    literal(1, 'edge'), // :authority
    literal(31, 'application/grpc'), // content-type
  ]);
  const out = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0))];
  for (let i = 0; i < streams; i++) out.push(frame(1, 0x4, 1 + 2 * i, block));
  socket.write(Buffer.concat(out));
  let refused = 0;
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) break;
      if (pending[3] === 3 && pending.readUInt32BE(9) === h2.NGHTTP2_REFUSED_STREAM) refused++;
      pending = pending.subarray(9 + length);
    }
  });
  await new Promise((r) => setTimeout(r, ms));
  socket.destroy();
  return refused;
}

/** A raw HTTP/2 session to `address`, connected. */
async function rawSession(address: string): Promise<ClientHttp2Session> {
  const session = connect(`http://${address}`);
  session.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}

/** Resolves true when `session` closes within `ms`, false otherwise. */
function closesWithin(session: ClientHttp2Session, ms: number): Promise<boolean> {
  if (session.closed || session.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    session.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Opens a ShouldRateLimit call whose gRPC prefix declares `declared` bytes, and sends `send` of them. */
function halfSentCall(
  session: ClientHttp2Session,
  declared: number,
  send: number,
  extraHeaders: Record<string, string> = {},
): ClientHttp2Stream {
  const stream = session.request(
    {
      ':method': 'POST',
      ':path': SHOULD_RATE_LIMIT,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...extraHeaders,
    },
    { endStream: false },
  );
  stream.on('error', () => undefined);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(declared, 1);
  stream.write(prefix);
  // Two writes, so the server sees the body arrive in more than one chunk.
  if (send > 0) stream.write(Buffer.alloc(Math.ceil(send / 2), 0x0a));
  if (send > 1) stream.write(Buffer.alloc(Math.floor(send / 2), 0x0a));
  return stream;
}

/** The grpc-status the call ended with (headers or trailers), or undefined if it did not within `ms`. */
function statusOf(stream: ClientHttp2Stream, ms: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    const seen = (headers: Record<string, unknown>) => {
      const status = headers['grpc-status'];
      if (status !== undefined) {
        clearTimeout(timer);
        resolve(String(status));
      }
    };
    stream.on('response', seen);
    stream.on('trailers', seen);
    stream.resume();
  });
}

async function inflightBytes(metricsUrl: string): Promise<number> {
  const text = await (await request(metricsUrl)).body.text();
  return Number(/^rls_inflight_bytes (\d+)/m.exec(text)?.[1]);
}

describe('gRPC listener limits (through the edge)', () => {
  let upstream: RecordingUpstream;
  let edge: EdgeUnderTest;
  const sessions: ClientHttp2Session[] = [];
  const open = async (address: string) => {
    const s = await rawSession(address);
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    edge = await startEdge(upstream.url, {
      GRPC_MAX_CONNECTION_IDLE: '500ms',
      GRPC_RECEIVE_TIMEOUT: '1s',
      MAX_INFLIGHT_BYTES: String(1 << 20),
    });
  });
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await edge.stop();
    await upstream.close();
  });

  it('closes a preface-only connection after GRPC_MAX_CONNECTION_IDLE, with a GOAWAY', async () => {
    for (const address of [edge.extAuthzAddress, edge.ratelimitAddress]) {
      const session = await open(address);
      const goaway = new Promise<number>((resolve) =>
        session.once('goaway', (code: number) => resolve(code)),
      );
      expect(await closesWithin(session, 3000)).toBe(true);
      expect(await goaway).toBe(h2.NGHTTP2_NO_ERROR);
    }
  });

  it('refuses streams beyond GRPC_MAX_CONCURRENT_STREAMS (100) on one connection', async () => {
    // node's client would hold the extra streams back itself, so this client writes the frames by hand.
    const refused = await refusedStreams(edge.ratelimitAddress, 130, 800);
    expect(refused).toBe(30);
  });

  it('ends a call with DEADLINE_EXCEEDED (4) when grpc-timeout expires before the message has arrived', async () => {
    const session = await open(edge.ratelimitAddress);
    const started = performance.now();
    const status = await statusOf(halfSentCall(session, 100, 10, { 'grpc-timeout': '200m' }), 3000);
    expect(status).toBe('4');
    expect(performance.now() - started).toBeLessThan(900);
    session.destroy();
  });

  it('cuts a half-sent message after GRPC_RECEIVE_TIMEOUT and gives its bytes back', async () => {
    const session = await open(edge.ratelimitAddress);
    const stream = halfSentCall(session, 50_000, 20_000);
    await expect.poll(() => inflightBytes(edge.metricsUrl), { timeout: 2000 }).toBeGreaterThanOrEqual(20_000);
    expect(await statusOf(stream, 3000)).toBe('4');
    await expect.poll(() => inflightBytes(edge.metricsUrl), { timeout: 2000 }).toBe(0);
    session.destroy();
  });

  it('holds only the bytes that arrived: 100 calls declaring 4 MiB each reserve nothing up front', async () => {
    const session = await open(edge.ratelimitAddress);
    globalThis.gc?.();
    const before = process.memoryUsage().arrayBuffers;
    const streams = Array.from({ length: 100 }, () => halfSentCall(session, (4 << 20) - 100, 200));
    // Every call's bytes are counted in the shared budget as they arrive (the prefix and 200 bytes each).
    await expect.poll(() => inflightBytes(edge.metricsUrl), { timeout: 2000 }).toBe(100 * 205);
    const grown = process.memoryUsage().arrayBuffers - before;
    // 100 × 512 KiB (the old up-front buffers) would be 50 MiB.
    expect(grown).toBeLessThan(16 << 20);
    for (const s of streams) s.close(h2.NGHTTP2_CANCEL);
    await expect.poll(() => inflightBytes(edge.metricsUrl), { timeout: 2000 }).toBe(0);
    session.destroy();
  });

  it('answers RESOURCE_EXHAUSTED when the shared in-flight byte budget is full', async () => {
    const session = await open(edge.ratelimitAddress);
    const big = halfSentCall(session, 3 << 20, 900 << 10);
    await expect.poll(() => inflightBytes(edge.metricsUrl), { timeout: 2000 }).toBeGreaterThan(800 << 10);
    const refused = halfSentCall(session, 1 << 20, 300 << 10);
    expect(await statusOf(refused, 2000)).toBe('8');
    big.close(h2.NGHTTP2_CANCEL);
    session.destroy();
    const metrics = await (await request(edge.metricsUrl)).body.text();
    expect(metrics).toMatch(/rls_grpc_limit_events_total\{listener="ratelimit",event="overloaded"\} [1-9]/);
  });
  it('counts a decompressed message in the budget too: a gzip bomb cannot outgrow it', async () => {
    const session = await open(edge.ratelimitAddress);
    const big = halfSentCall(session, 3 << 20, 900 << 10);
    await expect.poll(() => inflightBytes(edge.metricsUrl), { timeout: 2000 }).toBeGreaterThan(800 << 10);
    // 2 KB on the wire, 2 MB once inflated: more than the 1 MiB budget has left.
    const bomb = gzipSync(Buffer.alloc(2 << 20));
    const prefix = Buffer.alloc(5);
    prefix[0] = 1;
    prefix.writeUInt32BE(bomb.length, 1);
    const call = session.request({
      ':method': 'POST',
      ':path': SHOULD_RATE_LIMIT,
      'content-type': 'application/grpc',
      'grpc-encoding': 'gzip',
      te: 'trailers',
    });
    call.on('error', () => undefined);
    call.end(Buffer.concat([prefix, bomb]));
    expect(await statusOf(call, 2000)).toBe('8');
    big.close(h2.NGHTTP2_CANCEL);
    await expect.poll(() => inflightBytes(edge.metricsUrl), { timeout: 2000 }).toBe(0);
    session.destroy();
  });
});

describe('gRPC connection age and keepalive enforcement', () => {
  let server: GrpcServer;
  let address: string;
  const limits: GrpcServerLimits = {
    ...DEFAULT_GRPC_LIMITS,
    maxConnectionIdleMs: 0,
    maxConnectionAgeMs: 600,
    maxConnectionAgeGraceMs: 400,
    keepaliveMinTimeMs: 60_000,
    receiveTimeoutMs: 30_000,
  };

  beforeAll(async () => {
    server = new GrpcServer({ maxMessageBytes: 1 << 20, limits });
    server.addUnary(SHOULD_RATE_LIMIT, () => Buffer.from([0, 0, 0, 0, 0]));
    address = `127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  });
  afterAll(async () => {
    await server.close(100);
  });

  it('sends GOAWAY at GRPC_MAX_CONNECTION_AGE and cuts the connection after the grace', async () => {
    const session = await rawSession(address);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    // A call left open keeps the connection past the GOAWAY until the grace ends.
    halfSentCall(session, 100, 10);
    const started = performance.now();
    expect(await goaway).toBe(h2.NGHTTP2_NO_ERROR);
    expect(await closesWithin(session, 3000)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('answers too-frequent pings with GOAWAY ENHANCE_YOUR_CALM', async () => {
    const session = await rawSession(address);
    const goaway = new Promise<{ code: number; debug: string }>((resolve) =>
      session.once('goaway', (code: number, _last: number, data?: Buffer) =>
        resolve({ code, debug: data?.toString() ?? '' }),
      ),
    );
    for (let i = 0; i < 4; i++) {
      await new Promise<void>((resolve) => {
        if (session.closed || session.destroyed) return resolve();
        session.ping(() => resolve());
      });
    }
    expect(await goaway).toEqual({ code: h2.NGHTTP2_ENHANCE_YOUR_CALM, debug: 'too_many_pings' });
    expect(await closesWithin(session, 3000)).toBe(true);
  });
});
