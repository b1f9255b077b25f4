// A lean gRPC server over node:http2 for unary and server-streaming calls whose messages we encode and
// decode by hand: length-prefixed framing, identity/gzip/deflate, size caps, status trailers, graceful
// drain. Per call it builds only one call record and one deadline timer beside the stream Node gives us,
// and a synchronous handler's answer is written in the same tick. Bad input ends that call with a status; the
// process never throws. It bounds what a client can hold as a production gRPC server does (grpc-go's
// server options): idle and maximum connection age with a GOAWAY, keepalive ping enforcement, concurrent
// streams, per-call deadlines (grpc-timeout), request bytes in the shared in-flight budget, and node's
// HTTP/2 flood limits set explicitly.

import { createSecureServer, createServer, constants as h2 } from 'node:http2';
import type {
  Http2SecureServer,
  Http2Server,
  Http2Session,
  IncomingHttpHeaders,
  ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';
import { InflightBudget, overloadMessage } from '../../proxy/backpressure.js';
import { WireFormatError } from '../../wire/protobuf-reader.js';
import { GrpcError, GrpcStatus, encodeGrpcMessage } from './grpc-status.js';
import type { GrpcStatusCode } from './grpc-status.js';

/**
 * A unary handler: the request message (unframed) in, the framed response out (WireWriter.finishFramed).
 * The message may sit in a reused buffer: a handler that answers synchronously must not keep a reference to
 * it (or to views of it) after returning; one that returns a Promise may use it until the Promise settles.
 */
export type UnaryHandler = (message: Buffer, headers: IncomingHttpHeaders) => Buffer | Promise<Buffer>;

/** A server-streaming call: write framed messages until the client cancels or the server stops. */
export interface ServerStreamCall {
  write(framed: Buffer): void;
  readonly closed: boolean;
  onClose(listener: () => void): void;
}
export type ServerStreamHandler = (message: Buffer, call: ServerStreamCall) => void;

export interface GrpcTlsOptions {
  cert: Buffer;
  key: Buffer;
  /** When set, clients must present a certificate signed by this CA (mTLS). */
  clientCa?: Buffer;
}

/** Connection, keepalive and deadline bounds (the GRPC_* settings); durations in ms, 0 turns one off. */
export interface GrpcServerLimits {
  /** Calls open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused. */
  maxConcurrentStreams: number;
  /** A connection with no call open this long gets GOAWAY and is closed (grpc-go MaxConnectionIdle). */
  maxConnectionIdleMs: number;
  /** A connection this old (±10% jitter) gets GOAWAY (grpc-go MaxConnectionAge). */
  maxConnectionAgeMs: number;
  /** Then calls in flight have this long before the connection is cut (MaxConnectionAgeGrace). */
  maxConnectionAgeGraceMs: number;
  /** Pings closer together than this are strikes; past MAX_PING_STRIKES, GOAWAY ENHANCE_YOUR_CALM. */
  keepaliveMinTimeMs: number;
  /** Whether a ping on a connection with no call open is fine (otherwise a strike, as grpc-go). */
  keepalivePermitWithoutStream: boolean;
  /** A request message must have fully arrived within this (grpc-timeout, when shorter, wins). */
  receiveTimeoutMs: number;
}

export const DEFAULT_GRPC_LIMITS: GrpcServerLimits = Object.freeze({
  maxConcurrentStreams: 100,
  maxConnectionIdleMs: 5 * 60_000,
  maxConnectionAgeMs: 30 * 60_000,
  maxConnectionAgeGraceMs: 30_000,
  keepaliveMinTimeMs: 5 * 60_000,
  keepalivePermitWithoutStream: false,
  receiveTimeoutMs: 10_000,
});

/** Why the server ended a connection or call on its own (rls_grpc_limit_events_total's `event`). */
export type GrpcLimitEvent = 'idle' | 'max_age' | 'too_many_pings' | 'deadline_exceeded' | 'overloaded';

export interface GrpcServerOptions {
  /** Largest request message accepted (after decompression), in bytes. */
  maxMessageBytes: number;
  tls?: GrpcTlsOptions;
  /** Called when a handler throws something that is not a GrpcError (a bug): the call gets INTERNAL. */
  onInternalError?: (path: string, err: unknown) => void;
  /** Defaults: DEFAULT_GRPC_LIMITS. */
  limits?: GrpcServerLimits;
  /**
   * The in-flight byte budget request bodies are counted in (the proxy's, so one bound covers every
   * listener); past it a call gets RESOURCE_EXHAUSTED. Default: a budget of its own without a bound.
   */
  budget?: InflightBudget;
  /** Told each time a limit ends a connection or call. */
  onLimit?: (event: GrpcLimitEvent) => void;
}

/** Bodies up to this size are assembled in a reused buffer; larger ones get their own. */
const POOLED_BUFFER_BYTES = 256 << 10;
/** At most this many idle scratch buffers are kept (POOLED_BUFFERS × 256 KiB of memory at most). */
const POOLED_BUFFERS = 16;

/**
 * Fixed-size scratch buffers, reused so that a 100 KB ext_authz body costs a copy into warm memory rather
 * than a fresh allocation (page faults, and external memory that drives V8's full collections). A buffer is
 * released only once no handler can still read it.
 */
export class BufferPool {
  private readonly idle: Buffer[] = [];

  constructor(
    readonly bufferBytes: number,
    private readonly maxIdle: number,
  ) {}

  /** A scratch buffer of bufferBytes when `bytes` fits in one, else undefined (the caller allocates). */
  take(bytes: number): Buffer | undefined {
    if (bytes > this.bufferBytes) return undefined;
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  release(buffer: Buffer | undefined): void {
    if (buffer !== undefined && this.idle.length < this.maxIdle) this.idle.push(buffer);
  }

  get idleCount(): number {
    return this.idle.length;
  }
}

/**
 * One request being received. Memory follows the bytes that arrived, never the length prefix (the client's
 * word): a body in one chunk is used as it is; a body in several is kept as its chunks and copied once, at
 * the end, into a buffer of exactly its size (pooled when small enough). Every chunk is counted in the
 * in-flight byte budget the proxy uses; the count is given back when the call is done.
 */
class IncomingCall {
  private first: Buffer | undefined;
  private chunks: Buffer[] | undefined;
  private received = 0;
  /** Bytes counted in the budget for this call, given back once (settle() or requestRead()). */
  private reserved = 0;
  /** Refused, timed out, answered or closed: later events change nothing. */
  private done = false;
  private ended = false;
  private timer: NodeJS.Timeout | undefined;
  /** When grpc-timeout expires (performance.now() ms), Infinity without one. */
  private readonly deadline: number;

  constructor(
    private readonly server: GrpcServer,
    readonly stream: ServerHttp2Stream,
    readonly path: string,
    readonly headers: IncomingHttpHeaders,
    readonly unary: UnaryHandler | undefined,
    readonly streaming: ServerStreamHandler | undefined,
    private readonly conn: Connection,
    timeoutMs: number,
  ) {
    const receive = server.limits.receiveTimeoutMs;
    this.deadline = timeoutMs >= 0 ? performance.now() + timeoutMs : Infinity;
    // One timer for the receive phase: grpc-timeout when it is shorter than GRPC_RECEIVE_TIMEOUT.
    const wait = timeoutMs >= 0 && timeoutMs < receive ? timeoutMs : receive;
    if (wait > 0) this.timer = setTimeout(this.onTimeout, wait);
    stream.on('close', this.onClose);
  }

  readonly onData = (chunk: Buffer): void => {
    if (this.done) return;
    this.received += chunk.length;
    if (this.received > this.server.maxFramedBytes) {
      this.refuse(
        GrpcStatus.RESOURCE_EXHAUSTED,
        `request message larger than ${this.server.maxMessageBytes} bytes`,
      );
      return;
    }
    if (!this.server.budget.reserveBytes(chunk.length)) {
      this.server.onLimit?.('overloaded');
      this.refuse(GrpcStatus.RESOURCE_EXHAUSTED, overloadMessage('bytes', this.server.budget).trim());
      return;
    }
    this.reserved += chunk.length;
    if (this.first === undefined) this.first = chunk;
    else if (this.chunks === undefined) this.chunks = [this.first, chunk];
    else this.chunks.push(chunk);
  };

  readonly onEnd = (): void => {
    this.ended = true;
    if (this.done || this.stream.destroyed) return;
    let body: Buffer;
    let pooled: Buffer | undefined;
    if (this.chunks !== undefined) {
      pooled = this.server.buffers.take(this.received);
      body = (pooled ?? Buffer.allocUnsafe(this.received)).subarray(0, this.received);
      let offset = 0;
      for (const c of this.chunks) offset += c.copy(body, offset);
      this.chunks = undefined;
    } else body = this.first ?? EMPTY;
    this.first = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.server.dispatch(this, body, pooled);
  };

  /** For dispatch: the handler answers later (a Promise or a server stream); grpc-timeout still bounds it. */
  pending(): void {
    if (this.deadline === Infinity || this.done) return;
    this.timer = setTimeout(this.onTimeout, Math.max(0, this.deadline - performance.now()));
  }

  /** For dispatch: `n` more bytes held for this call (its decompressed message), given back with the rest. */
  hold(n: number): void {
    // Fits: unframe() bounded the decompressed size by the room the budget had left.
    if (this.server.budget.reserveBytes(n)) this.reserved += n;
  }

  /** For dispatch: a server stream's handler has read its request, so the request bytes are no longer held. */
  requestRead(): void {
    if (this.reserved > 0) {
      this.server.budget.releaseBytes(this.reserved);
      this.reserved = 0;
    }
  }

  /** The call is answered (or failed): give back its bytes and its timer. Idempotent. */
  settle(): void {
    this.done = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.reserved > 0) {
      this.server.budget.releaseBytes(this.reserved);
      this.reserved = 0;
    }
    this.first = undefined;
    this.chunks = undefined;
  }

  private readonly onTimeout = (): void => {
    this.timer = undefined;
    if (this.done) return;
    this.server.onLimit?.('deadline_exceeded');
    const byDeadline = performance.now() >= this.deadline - 1;
    const message = byDeadline
      ? 'deadline exceeded (grpc-timeout)'
      : `the request message did not arrive within ${this.server.limits.receiveTimeoutMs} ms (GRPC_RECEIVE_TIMEOUT)`;
    if (this.streaming !== undefined && this.ended) {
      // A server stream already answered with headers: end it; the client's own deadline reports it.
      this.settle();
      if (!this.stream.destroyed && !this.stream.closed) this.stream.close(h2.NGHTTP2_CANCEL);
      return;
    }
    this.refuse(GrpcStatus.DEADLINE_EXCEEDED, message);
  };

  private readonly onClose = (): void => {
    this.settle();
    this.conn.streamClosed();
  };

  private refuse(status: GrpcStatusCode, message: string): void {
    this.settle();
    this.server.fail(this.stream, status, message);
  }
}

const TRAILERS_OK = Object.freeze({ 'grpc-status': '0' });
const RESPONSE_HEADERS = Object.freeze({ ':status': 200, 'content-type': 'application/grpc' });
const ACCEPT_ENCODING = 'identity,gzip,deflate';
const EMPTY = Buffer.alloc(0);
const CONNECTION_WINDOW_BYTES = 32 << 20;
// gRPC needs no Date header; leaving it out spares a header per response. respond() copies its options.
const REPLY_OPTIONS = Object.freeze({ waitForTrailers: true, sendDate: false });
const FAIL_OPTIONS = Object.freeze({ endStream: true, sendDate: false });
const PREFIX_BYTES = 5;
/** Pings too soon tolerated before GOAWAY ENHANCE_YOUR_CALM (grpc-go's maxPingStrikes). */
const MAX_PING_STRIKES = 2;
/** grpc-go: with no call open and pings not permitted without one, the shortest ping interval is 2 h. */
const PING_INTERVAL_WITHOUT_STREAM_MS = 2 * 3600_000;
/** After a GOAWAY for idleness or too many pings, how long the peer has before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;
/** Longest interval between two checks of the connection timers. */
const MAX_SWEEP_MS = 1000;
/** HTTP/2 flood bounds, explicit rather than node's defaults (see docs/envoy.md, "Limits of the gRPC server"). */
const MAX_HEADER_LIST_BYTES = 16 << 10;
const MAX_HEADER_LIST_PAIRS = 64;
const MAX_SESSION_INVALID_FRAMES = 100;
const MAX_SESSION_REJECTED_STREAMS = 100;
const MAX_OUTSTANDING_PINGS = 10;
const MAX_SETTINGS_ENTRIES = 32;
const UNKNOWN_PROTOCOL_TIMEOUT_MS = 10_000;
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** grpc-timeout ("<1-8 digits><H|M|S|m|u|n>") in ms; -1 when absent or malformed. */
export function parseGrpcTimeout(value: string | string[] | undefined): number {
  if (typeof value !== 'string' || value.length < 2 || value.length > 9) return -1;
  const unit = TIMEOUT_UNIT_MS[value[value.length - 1]!];
  const digits = value.slice(0, -1);
  if (unit === undefined || !/^\d+$/.test(digits)) return -1;
  return Number(digits) * unit;
}

function sendTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(TRAILERS_OK);
}

function ignore(): void {}

/** One HTTP/2 connection's timers and keepalive state; times are performance.now() ms. */
class Connection {
  active = 0;
  idleSince: number;
  /** When it gets a GOAWAY for its age (Infinity: never). */
  readonly retireAt: number;
  /** After a GOAWAY: when the socket is destroyed if the peer has not closed it (Infinity: no GOAWAY yet). */
  destroyAt = Infinity;
  private lastPing = -Infinity;
  private pingStrikes = 0;

  constructor(
    readonly session: Http2Session,
    private readonly server: GrpcServer,
    now: number,
  ) {
    this.idleSince = now;
    const age = server.limits.maxConnectionAgeMs;
    // ±10% jitter, as grpc-go, so connections opened together do not all reconnect together.
    this.retireAt = age > 0 ? now + age * (0.9 + Math.random() * 0.2) : Infinity;
  }

  streamOpened(): void {
    this.active++;
    // grpc-go forgives pings once the connection carries calls again.
    this.pingStrikes = 0;
    this.lastPing = -Infinity;
  }

  streamClosed(): void {
    if (--this.active === 0) this.idleSince = performance.now();
  }

  readonly onPing = (): void => {
    const { keepaliveMinTimeMs, keepalivePermitWithoutStream } = this.server.limits;
    if (keepaliveMinTimeMs <= 0 && keepalivePermitWithoutStream) return;
    const now = performance.now();
    let min = keepaliveMinTimeMs;
    if (this.active === 0 && !keepalivePermitWithoutStream) min = PING_INTERVAL_WITHOUT_STREAM_MS;
    if (now - this.lastPing < min && ++this.pingStrikes > MAX_PING_STRIKES) {
      this.server.onLimit?.('too_many_pings');
      this.goAway(h2.NGHTTP2_ENHANCE_YOUR_CALM, 'too_many_pings', now + CLOSE_GRACE_MS);
    }
    this.lastPing = now;
  };

  /** GOAWAY (calls in flight may finish), then destroy at `destroyAt` if the peer is still there. */
  goAway(code: number, debug: string, destroyAt: number): void {
    if (this.destroyAt !== Infinity || this.session.destroyed) return;
    this.destroyAt = destroyAt;
    if (!this.session.closed) {
      if (code !== h2.NGHTTP2_NO_ERROR) this.session.goaway(code, 0, Buffer.from(debug));
      this.session.close();
    }
  }

  /** The timers, checked by the server's sweep. */
  check(now: number): void {
    if (now >= this.destroyAt) {
      this.session.destroy();
      return;
    }
    if (this.destroyAt !== Infinity) return;
    const { maxConnectionIdleMs, maxConnectionAgeGraceMs } = this.server.limits;
    if (maxConnectionIdleMs > 0 && this.active === 0 && now - this.idleSince >= maxConnectionIdleMs) {
      this.server.onLimit?.('idle');
      this.goAway(h2.NGHTTP2_NO_ERROR, 'max_idle', now + CLOSE_GRACE_MS);
    } else if (now >= this.retireAt) {
      this.server.onLimit?.('max_age');
      this.goAway(h2.NGHTTP2_NO_ERROR, 'max_age', now + maxConnectionAgeGraceMs);
    }
  }
}

export class GrpcServer {
  private readonly unary = new Map<string, UnaryHandler>();
  private readonly streaming = new Map<string, ServerStreamHandler>();
  private readonly connections = new Map<Http2Session, Connection>();
  private readonly server: Http2Server | Http2SecureServer;
  private readonly closeListeners = new Set<() => void>();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Scratch buffers for request bodies that arrive in several chunks (ext_authz's large bodies). */
  readonly buffers = new BufferPool(POOLED_BUFFER_BYTES, POOLED_BUFFERS);

  /** The largest request body accepted: one message and its 5-byte prefix. */
  readonly maxFramedBytes: number;
  readonly maxMessageBytes: number;
  readonly limits: GrpcServerLimits;
  readonly budget: InflightBudget;
  readonly onLimit: ((event: GrpcLimitEvent) => void) | undefined;

  constructor(private readonly options: GrpcServerOptions) {
    this.maxMessageBytes = options.maxMessageBytes;
    this.maxFramedBytes = options.maxMessageBytes + PREFIX_BYTES;
    this.limits = options.limits ?? DEFAULT_GRPC_LIMITS;
    this.budget = options.budget ?? new InflightBudget(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    this.onLimit = options.onLimit;
    // Node counts buffered stream data against maxSessionMemory (MB): leave room for a few full bodies.
    const sessionMb = Math.max(10, Math.ceil((options.maxMessageBytes * 4) / 1_048_576));
    const common = {
      maxSessionMemory: sessionMb,
      maxHeaderListPairs: MAX_HEADER_LIST_PAIRS,
      maxSessionInvalidFrames: MAX_SESSION_INVALID_FRAMES,
      maxSessionRejectedStreams: MAX_SESSION_REJECTED_STREAMS,
      maxOutstandingPings: MAX_OUTSTANDING_PINGS,
      maxSettings: MAX_SETTINGS_ENTRIES,
      unknownProtocolTimeout: UNKNOWN_PROTOCOL_TIMEOUT_MS,
      settings: {
        maxConcurrentStreams: this.limits.maxConcurrentStreams,
        initialWindowSize: 1 << 20,
        maxHeaderListSize: MAX_HEADER_LIST_BYTES,
      },
    };
    if (options.tls) {
      this.server = createSecureServer({
        ...common,
        cert: options.tls.cert,
        key: options.tls.key,
        ...(options.tls.clientCa
          ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }
          : {}),
        ALPNProtocols: ['h2'],
      });
    } else {
      this.server = createServer(common);
    }
    this.server.on('session', (session: Http2Session) => {
      const conn = new Connection(session, this, performance.now());
      this.connections.set(session, conn);
      session.on('error', ignore);
      session.on('ping', conn.onPing);
      // The connection-level window starts at 64 KiB whatever the settings say; ext_authz bodies need more.
      session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
      session.once('close', () => this.connections.delete(session));
    });
    this.server.on('stream', this.onStream);
    // A TLS handshake failure (e.g. a client without a certificate under mTLS) only ends that connection.
    this.server.on('tlsClientError', ignore);
  }

  /**
   * Replaces the certificate, key and client CA for new connections (a reloaded file set); connections already
   * open keep theirs. Throws on bad PEM, so a caller validates first (see TlsReloader).
   */
  setTls(tls: GrpcTlsOptions): void {
    if (!this.options.tls) throw new Error('setTls on a gRPC server started without TLS');
    (this.server as Http2SecureServer).setSecureContext({
      cert: tls.cert,
      key: tls.key,
      ...(tls.clientCa ? { ca: tls.clientCa } : {}),
    });
  }

  /** Registers `/package.Service/Method`. */
  addUnary(path: string, handler: UnaryHandler): void {
    this.unary.set(path, handler);
  }

  addServerStreaming(path: string, handler: ServerStreamHandler): void {
    this.streaming.set(path, handler);
  }

  /** Connections open now (for tests and status). */
  get connectionCount(): number {
    return this.connections.size;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.startSweep();
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** One timer for every connection's idle, age and grace deadlines (no timer per connection or call). */
  private startSweep(): void {
    const { maxConnectionIdleMs, maxConnectionAgeMs, maxConnectionAgeGraceMs } = this.limits;
    let every = MAX_SWEEP_MS;
    for (const ms of [maxConnectionIdleMs, maxConnectionAgeMs, maxConnectionAgeGraceMs, CLOSE_GRACE_MS])
      if (ms > 0) every = Math.min(every, ms / 4);
    this.sweepTimer = setInterval(
      () => {
        const now = performance.now();
        for (const conn of this.connections.values()) conn.check(now);
      },
      Math.max(10, every),
    );
    this.sweepTimer.unref();
  }

  /** Stops accepting, lets in-flight calls finish (GOAWAY), ends streams, destroys what is left after graceMs. */
  close(graceMs: number): Promise<void> {
    for (const listener of this.closeListeners) listener();
    this.closeListeners.clear();
    clearInterval(this.sweepTimer);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const session of this.connections.keys()) session.destroy();
      }, graceMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const session of this.connections.keys()) session.close();
    });
  }

  private readonly onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    stream.on('error', ignore);
    const path = headers[':path'] ?? '';
    const contentType = headers['content-type'];
    if (
      headers[':method'] !== 'POST' ||
      typeof contentType !== 'string' ||
      !contentType.startsWith('application/grpc')
    ) {
      // The gRPC spec: a request that is not gRPC gets HTTP 415, not a gRPC status.
      stream.respond({ ':status': 415, 'content-type': 'text/plain' });
      stream.end('this port speaks gRPC (content-type: application/grpc)\n');
      return;
    }
    const unary = this.unary.get(path);
    const streaming = unary ? undefined : this.streaming.get(path);
    if (!unary && !streaming) {
      this.fail(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`);
      return;
    }
    const encoding = headers['grpc-encoding'];
    if (encoding !== undefined && encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
      this.fail(stream, GrpcStatus.UNIMPLEMENTED, `unsupported grpc-encoding ${String(encoding)}`);
      return;
    }
    const conn = this.connections.get(stream.session!);
    if (conn === undefined) {
      stream.close(h2.NGHTTP2_REFUSED_STREAM);
      return;
    }
    conn.streamOpened();
    const timeoutMs = parseGrpcTimeout(headers['grpc-timeout']);
    const call = new IncomingCall(this, stream, path, headers, unary, streaming, conn, timeoutMs);
    stream.on('data', call.onData);
    stream.on('end', call.onEnd);
  };

  /** For IncomingCall: the request body has ended; `body` is the whole gRPC-framed request. */
  dispatch(call: IncomingCall, body: Buffer, pooled: Buffer | undefined): void {
    const { stream, path, headers } = call;
    let message: Buffer;
    try {
      message = this.unframe(body, headers['grpc-encoding']);
    } catch (err) {
      call.settle();
      this.failWith(stream, path, err);
      this.buffers.release(pooled);
      return;
    }
    // A decompressed message is a second buffer: counted too (unframe kept it within what was left).
    if (body[0] === 1) call.hold(message.length);
    if (call.unary) {
      // A handler that answered synchronously is done with the message, so its buffer can be reused.
      if (this.runUnary(call, stream, path, call.unary, message, headers)) {
        call.settle();
        this.buffers.release(pooled);
      }
    } else {
      this.runStreaming(stream, path, call.streaming!, message);
      // The handler has read its request; the stream's life is bounded by grpc-timeout only.
      call.requestRead();
      call.pending();
    }
  }

  /** The single message of a unary request body, decompressed when flagged. */
  private unframe(body: Buffer, encoding: string | string[] | undefined): Buffer {
    if (body.length < 5) {
      throw new GrpcError(GrpcStatus.INTERNAL, 'the call carried no request message');
    }
    const compressed = body[0]!;
    const length = body.readUInt32BE(1);
    if (compressed > 1) throw new GrpcError(GrpcStatus.INTERNAL, `invalid message flag ${compressed}`);
    if (body.length !== 5 + length) {
      throw new GrpcError(
        GrpcStatus.INTERNAL,
        body.length < 5 + length
          ? 'the request message is truncated'
          : 'a unary call must carry exactly one request message',
      );
    }
    const payload = body.subarray(5);
    if (compressed === 0) return payload;
    if (encoding !== 'gzip' && encoding !== 'deflate') {
      throw new GrpcError(GrpcStatus.INTERNAL, 'compressed message without a grpc-encoding header');
    }
    // The inflated message is held too: it may not outgrow what the in-flight budget has left.
    const room = Math.max(0, this.budget.maxBytes - this.budget.bytes);
    const maxOutputLength = Math.min(this.options.maxMessageBytes, room);
    if (maxOutputLength < 1) {
      this.onLimit?.('overloaded');
      throw new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, overloadMessage('bytes', this.budget).trim());
    }
    try {
      return encoding === 'gzip'
        ? gunzipSync(payload, { maxOutputLength })
        : inflateSync(payload, { maxOutputLength });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' && maxOutputLength < this.options.maxMessageBytes) {
        this.onLimit?.('overloaded');
        throw new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, overloadMessage('bytes', this.budget).trim());
      }
      if (code === 'ERR_BUFFER_TOO_LARGE') {
        throw new GrpcError(
          GrpcStatus.RESOURCE_EXHAUSTED,
          `request message larger than ${maxOutputLength} bytes once decompressed`,
        );
      }
      throw new GrpcError(GrpcStatus.INTERNAL, `cannot decompress the ${encoding} request message`);
    }
  }

  /** Runs a unary handler; true when it answered (or failed) synchronously, false while its Promise is pending. */
  private runUnary(
    call: IncomingCall,
    stream: ServerHttp2Stream,
    path: string,
    handler: UnaryHandler,
    message: Buffer,
    headers: IncomingHttpHeaders,
  ): boolean {
    let result: Buffer | Promise<Buffer>;
    try {
      result = handler(message, headers);
    } catch (err) {
      this.failWith(stream, path, err);
      return true;
    }
    if (result instanceof Promise) {
      call.pending();
      result.then(
        (framed) => {
          call.settle();
          this.reply(stream, framed);
        },
        (err: unknown) => {
          call.settle();
          this.failWith(stream, path, err);
        },
      );
      return false;
    }
    this.reply(stream, result);
    return true;
  }

  private reply(stream: ServerHttp2Stream, framed: Buffer): void {
    if (stream.destroyed || stream.closed) return;
    stream.respond(RESPONSE_HEADERS, REPLY_OPTIONS);
    // 'wantTrailers' fires once per stream, so a plain listener does (once() would allocate a wrapper).
    stream.on('wantTrailers', sendTrailers);
    stream.end(framed);
  }

  private runStreaming(
    stream: ServerHttp2Stream,
    path: string,
    handler: ServerStreamHandler,
    message: Buffer,
  ): void {
    // Headers go out with the first message, so a handler that refuses the call (a GrpcError before
    // writing anything) still gets a trailers-only status.
    let started = false;
    const start = (): void => {
      if (started) return;
      started = true;
      stream.respond(RESPONSE_HEADERS, REPLY_OPTIONS);
      stream.on('wantTrailers', sendTrailers);
    };
    const listeners: (() => void)[] = [];
    const finish = (): void => {
      this.closeListeners.delete(finish);
      for (const listener of listeners.splice(0)) listener();
      if (!stream.destroyed && !stream.closed) {
        start();
        stream.end();
      }
    };
    stream.once('close', finish);
    this.closeListeners.add(finish);
    const call: ServerStreamCall = {
      write: (framed) => {
        if (stream.destroyed || stream.closed) return;
        start();
        stream.write(framed);
      },
      get closed() {
        return stream.destroyed || stream.closed;
      },
      onClose: (listener) => listeners.push(listener),
    };
    try {
      handler(message, call);
    } catch (err) {
      if (!started) {
        this.closeListeners.delete(finish);
        this.failWith(stream, path, err);
        return;
      }
      this.options.onInternalError?.(path, err);
      finish();
    }
  }

  /** For IncomingCall and the handlers' errors: ends the call with the status `err` maps to. */
  failWith(stream: ServerHttp2Stream, path: string, err: unknown): void {
    if (err instanceof GrpcError) {
      this.fail(stream, err.status, err.message);
    } else if (err instanceof WireFormatError) {
      this.fail(stream, GrpcStatus.INVALID_ARGUMENT, `malformed request message: ${err.message}`);
    } else {
      this.options.onInternalError?.(path, err);
      this.fail(stream, GrpcStatus.INTERNAL, 'internal error while answering the call');
    }
  }

  /** A trailers-only response: the status travels in the one HEADERS frame. */
  fail(stream: ServerHttp2Stream, status: GrpcStatusCode, message: string): void {
    if (stream.destroyed || stream.closed) return;
    if (stream.headersSent) {
      stream.close(h2.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': String(status),
        'grpc-message': encodeGrpcMessage(message),
        ...(status === GrpcStatus.UNIMPLEMENTED ? { 'grpc-accept-encoding': ACCEPT_ENCODING } : {}),
      },
      FAIL_OPTIONS,
    );
    // Do not read the rest of a refused request.
    if (!stream.readableEnded) stream.close(h2.NGHTTP2_NO_ERROR);
  }
}
