// A lean gRPC server over node:http2 for unary and server-streaming calls whose messages we encode and
// decode by hand: length-prefixed framing, identity/gzip/deflate, size caps, status trailers, graceful
// drain. It never builds per-call objects beyond the stream Node gives us, and a synchronous handler's
// answer is written in the same tick. Bad input ends that call with a status; the process never throws.

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

export interface GrpcServerOptions {
  /** Largest request message accepted (after decompression), in bytes. */
  maxMessageBytes: number;
  tls?: GrpcTlsOptions;
  /** Called when a handler throws something that is not a GrpcError (a bug): the call gets INTERNAL. */
  onInternalError?: (path: string, err: unknown) => void;
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
 * One request being received. The common cases cost no copy: a body that arrives in one chunk is used as
 * it is. A body in several chunks is copied once into a buffer sized from the gRPC length prefix (pooled
 * when small enough), never gathered in an array and concatenated.
 */
class IncomingCall {
  private first: Buffer | undefined;
  /** Assembly buffer, once a second chunk arrives. */
  private target: Buffer | undefined;
  private pooled: Buffer | undefined;
  private received = 0;
  private refused = false;

  constructor(
    private readonly server: GrpcServer,
    readonly stream: ServerHttp2Stream,
    readonly path: string,
    readonly headers: IncomingHttpHeaders,
    readonly unary: UnaryHandler | undefined,
    readonly streaming: ServerStreamHandler | undefined,
  ) {}

  readonly onData = (chunk: Buffer): void => {
    if (this.refused) return;
    const offset = this.received;
    this.received += chunk.length;
    if (this.received > this.server.maxFramedBytes) {
      this.refuse();
      return;
    }
    if (offset === 0) {
      this.first = chunk;
      return;
    }
    if (this.target === undefined) this.startAssembly();
    if (this.received <= this.target!.length) chunk.copy(this.target!, offset);
    else this.grow(chunk, offset);
  };

  readonly onEnd = (): void => {
    if (this.refused || this.stream.destroyed) {
      this.server.buffers.release(this.pooled);
      return;
    }
    let body: Buffer;
    if (this.target !== undefined) body = this.target.subarray(0, this.received);
    else body = this.first ?? EMPTY;
    this.first = undefined;
    this.target = undefined;
    this.server.dispatch(this, body, this.pooled);
  };

  /**
   * Second chunk: size the buffer from the prefix (a well-formed unary body is exactly 5 + length). The prefix
   * is the client's word, so a large one is trusted only up to twice what has arrived (at least 512 KiB);
   * grow() doubles from there.
   */
  private startAssembly(): void {
    const first = this.first!;
    let expected = this.received;
    if (first.length >= PREFIX_BYTES) {
      const announced = PREFIX_BYTES + first.readUInt32BE(1);
      expected = Math.max(
        expected,
        Math.min(announced, Math.max(2 * this.received, 2 * POOLED_BUFFER_BYTES)),
      );
    }
    expected = Math.min(expected, this.server.maxFramedBytes);
    const pooled = this.server.buffers.take(expected);
    this.pooled = pooled;
    this.target = pooled ?? Buffer.allocUnsafe(expected);
    first.copy(this.target, 0);
  }

  /** More bytes than the buffer holds: a large body still arriving, or more than its prefix announced. */
  private grow(chunk: Buffer, offset: number): void {
    const next = Buffer.allocUnsafe(
      Math.min(this.server.maxFramedBytes, Math.max(this.received, offset * 2)),
    );
    this.target!.copy(next, 0, 0, offset);
    this.server.buffers.release(this.pooled);
    this.pooled = undefined;
    this.target = next;
    chunk.copy(next, offset);
  }

  private refuse(): void {
    this.refused = true;
    this.first = undefined;
    this.target = undefined;
    this.server.buffers.release(this.pooled);
    this.pooled = undefined;
    this.server.fail(
      this.stream,
      GrpcStatus.RESOURCE_EXHAUSTED,
      `request message larger than ${this.server.maxMessageBytes} bytes`,
    );
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

function sendTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(TRAILERS_OK);
}

function ignore(): void {}

export class GrpcServer {
  private readonly unary = new Map<string, UnaryHandler>();
  private readonly streaming = new Map<string, ServerStreamHandler>();
  private readonly sessions = new Set<Http2Session>();
  private readonly server: Http2Server | Http2SecureServer;
  private readonly closeListeners = new Set<() => void>();
  /** Scratch buffers for request bodies that arrive in several chunks (ext_authz's large bodies). */
  readonly buffers = new BufferPool(POOLED_BUFFER_BYTES, POOLED_BUFFERS);

  /** The largest request body accepted: one message and its 5-byte prefix. */
  readonly maxFramedBytes: number;
  readonly maxMessageBytes: number;

  constructor(private readonly options: GrpcServerOptions) {
    this.maxMessageBytes = options.maxMessageBytes;
    this.maxFramedBytes = options.maxMessageBytes + PREFIX_BYTES;
    // Node counts buffered stream data against maxSessionMemory (MB): leave room for a few full bodies.
    const sessionMb = Math.max(10, Math.ceil((options.maxMessageBytes * 4) / 1_048_576));
    const common = {
      maxSessionMemory: sessionMb,
      settings: { maxConcurrentStreams: 1000, initialWindowSize: 1 << 20 },
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
      this.sessions.add(session);
      session.on('error', ignore);
      // The connection-level window starts at 64 KiB whatever the settings say; ext_authz bodies need more.
      session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
      session.once('close', () => this.sessions.delete(session));
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

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting, lets in-flight calls finish (GOAWAY), ends streams, destroys what is left after graceMs. */
  close(graceMs: number): Promise<void> {
    for (const listener of this.closeListeners) listener();
    this.closeListeners.clear();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const session of this.sessions) session.destroy();
      }, graceMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const session of this.sessions) session.close();
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
    const call = new IncomingCall(this, stream, path, headers, unary, streaming);
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
      this.failWith(stream, path, err);
      this.buffers.release(pooled);
      return;
    }
    if (call.unary) {
      // A handler that answered synchronously is done with the message, so its buffer can be reused.
      if (this.runUnary(stream, path, call.unary, message, headers)) this.buffers.release(pooled);
    } else this.runStreaming(stream, path, call.streaming!, message);
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
    const maxOutputLength = this.options.maxMessageBytes;
    try {
      return encoding === 'gzip'
        ? gunzipSync(payload, { maxOutputLength })
        : inflateSync(payload, { maxOutputLength });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
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
      result.then(
        (framed) => this.reply(stream, framed),
        (err: unknown) => this.failWith(stream, path, err),
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
    stream.respond(RESPONSE_HEADERS, REPLY_OPTIONS);
    stream.on('wantTrailers', sendTrailers);
    const listeners: (() => void)[] = [];
    const finish = (): void => {
      this.closeListeners.delete(finish);
      for (const listener of listeners.splice(0)) listener();
      if (!stream.destroyed && !stream.closed) stream.end();
    };
    stream.once('close', finish);
    this.closeListeners.add(finish);
    const call: ServerStreamCall = {
      write: (framed) => {
        if (!stream.destroyed && !stream.closed) stream.write(framed);
      },
      get closed() {
        return stream.destroyed || stream.closed;
      },
      onClose: (listener) => listeners.push(listener),
    };
    try {
      handler(message, call);
    } catch (err) {
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
