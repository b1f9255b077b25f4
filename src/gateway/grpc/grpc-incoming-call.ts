// Receiving one gRPC call's request: its bytes counted in the shared in-flight budget as they arrive, assembled
// once into one buffer (a reused scratch buffer when small), bounded by the receive timeout and grpc-timeout;
// then handed to the server's dispatch. Also the pool of scratch buffers and the grpc-timeout header's parser.

import { constants as h2 } from 'node:http2';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { InflightBudget } from '../../proxy/backpressure.js';
import { overloadMessage } from '../../proxy/backpressure.js';
import type { Connection, GrpcLimitEvent, GrpcServerLimits } from './grpc-connection.js';
import type { ServerStreamHandler, UnaryHandler } from './grpc-server.js';
import { GrpcStatus } from './grpc-status.js';
import type { GrpcStatusCode } from './grpc-status.js';

const EMPTY = Buffer.alloc(0);

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

/** Bodies up to this size are assembled in a reused buffer; larger ones get their own. */
export const POOLED_BUFFER_BYTES = 256 << 10;
/** At most this many idle scratch buffers are kept (POOLED_BUFFERS × 256 KiB of memory at most). */
export const POOLED_BUFFERS = 16;

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

/** What a call being received reads of the server that owns it, and hands its request to. */
export interface CallOwner {
  readonly limits: GrpcServerLimits;
  readonly maxFramedBytes: number;
  readonly maxMessageBytes: number;
  readonly budget: InflightBudget;
  readonly onLimit: ((event: GrpcLimitEvent) => void) | undefined;
  readonly buffers: BufferPool;
  dispatch(call: IncomingCall, body: Buffer, pooled: Buffer | undefined): void;
  fail(stream: ServerHttp2Stream, status: GrpcStatusCode, message: string): void;
}

/**
 * One request being received. Memory follows the bytes that arrived, never the length prefix (the client's
 * word): a body in one chunk is used as it is; a body in several is kept as its chunks and copied once, at
 * the end, into a buffer of exactly its size (pooled when small enough). Every chunk is counted in the
 * in-flight byte budget the proxy uses; the count is given back when the call is done.
 */
export class IncomingCall {
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
    private readonly server: CallOwner,
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
