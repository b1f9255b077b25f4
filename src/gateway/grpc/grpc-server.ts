// A lean gRPC server over node:http2 for unary and server-streaming calls whose messages we encode and
// decode by hand: length-prefixed framing, identity/gzip/deflate, size caps, status trailers, graceful
// drain. Per call it builds only one call record and one deadline timer beside the stream Node gives us,
// and a synchronous handler's answer is written in the same tick. Bad input ends that call with a status; the
// process never throws. It bounds what a client can hold as a production gRPC server does (grpc-go's
// server options): idle and maximum connection age with a GOAWAY, keepalive ping enforcement, concurrent
// streams, per-call deadlines (grpc-timeout), request bytes in the shared in-flight budget, and node's
// HTTP/2 flood limits set explicitly. This file listens, routes a call to its handler, dispatches it and writes
// answers and failures; one connection's bounds are grpc-connection.ts, receiving one request is
// grpc-incoming-call.ts, and the message framing is grpc-framing.ts.

import { createSecureServer, createServer, constants as h2 } from 'node:http2';
import type {
  Http2SecureServer,
  Http2Server,
  Http2Session,
  IncomingHttpHeaders,
  ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { InflightBudget } from '../../proxy/backpressure.js';
import { WireFormatError } from '../../wire/protobuf-reader.js';
import { CLOSE_GRACE_MS, Connection, DEFAULT_GRPC_LIMITS } from './grpc-connection.js';
import type { GrpcLimitEvent, GrpcServerLimits } from './grpc-connection.js';
import { PREFIX_BYTES, unframe } from './grpc-framing.js';
import {
  BufferPool,
  IncomingCall,
  POOLED_BUFFERS,
  POOLED_BUFFER_BYTES,
  parseGrpcTimeout,
} from './grpc-incoming-call.js';
import type { CallOwner } from './grpc-incoming-call.js';
import { GrpcError, GrpcStatus, encodeGrpcMessage } from './grpc-status.js';
import type { GrpcStatusCode } from './grpc-status.js';

// The server's parts, re-exported so its users import the gRPC server from one file.
export { DEFAULT_GRPC_LIMITS, parseGrpcTimeout };
export type { GrpcLimitEvent, GrpcServerLimits };

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

const TRAILERS_OK = Object.freeze({ 'grpc-status': '0' });
const RESPONSE_HEADERS = Object.freeze({ ':status': 200, 'content-type': 'application/grpc' });
const ACCEPT_ENCODING = 'identity,gzip,deflate';
const CONNECTION_WINDOW_BYTES = 32 << 20;
// gRPC needs no Date header; leaving it out spares a header per response. respond() copies its options.
const REPLY_OPTIONS = Object.freeze({ waitForTrailers: true, sendDate: false });
const FAIL_OPTIONS = Object.freeze({ endStream: true, sendDate: false });
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
function sendTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(TRAILERS_OK);
}

function ignore(): void {}

export class GrpcServer implements CallOwner {
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
      message = unframe(body, headers['grpc-encoding'], this.maxMessageBytes, this.budget, this.onLimit);
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
