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
import { WireFormatError } from '../protobuf/wire-reader.js';
import { GrpcError, GrpcStatus, encodeGrpcMessage } from './grpc-status.js';
import type { GrpcStatusCode } from './grpc-status.js';

/** A unary handler: the request message (unframed) in, the framed response out (WireWriter.finishFramed). */
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

const TRAILERS_OK = Object.freeze({ 'grpc-status': '0' });
const RESPONSE_HEADERS = Object.freeze({ ':status': 200, 'content-type': 'application/grpc' });
const ACCEPT_ENCODING = 'identity,gzip,deflate';
const EMPTY = Buffer.alloc(0);
const CONNECTION_WINDOW_BYTES = 32 << 20;

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

  constructor(private readonly options: GrpcServerOptions) {
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

    const limit = this.options.maxMessageBytes + 5;
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let received = 0;
    let refused = false;
    stream.on('data', (chunk: Buffer) => {
      if (refused) return;
      received += chunk.length;
      if (received > limit) {
        refused = true;
        this.fail(
          stream,
          GrpcStatus.RESOURCE_EXHAUSTED,
          `request message larger than ${this.options.maxMessageBytes} bytes`,
        );
        return;
      }
      if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    stream.on('end', () => {
      if (refused || stream.destroyed) return;
      const body = chunks ? Buffer.concat(chunks, received) : (first ?? EMPTY);
      let message: Buffer;
      try {
        message = this.unframe(body, encoding);
      } catch (err) {
        this.failWith(stream, path, err);
        return;
      }
      if (unary) this.runUnary(stream, path, unary, message, headers);
      else this.runStreaming(stream, path, streaming!, message);
    });
  };

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

  private runUnary(
    stream: ServerHttp2Stream,
    path: string,
    handler: UnaryHandler,
    message: Buffer,
    headers: IncomingHttpHeaders,
  ): void {
    let result: Buffer | Promise<Buffer>;
    try {
      result = handler(message, headers);
    } catch (err) {
      this.failWith(stream, path, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (framed) => this.reply(stream, framed),
        (err: unknown) => this.failWith(stream, path, err),
      );
      return;
    }
    this.reply(stream, result);
  }

  private reply(stream: ServerHttp2Stream, framed: Buffer): void {
    if (stream.destroyed || stream.closed) return;
    stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    stream.once('wantTrailers', sendTrailers);
    stream.end(framed);
  }

  private runStreaming(
    stream: ServerHttp2Stream,
    path: string,
    handler: ServerStreamHandler,
    message: Buffer,
  ): void {
    stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    stream.once('wantTrailers', sendTrailers);
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

  private failWith(stream: ServerHttp2Stream, path: string, err: unknown): void {
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
  private fail(stream: ServerHttp2Stream, status: GrpcStatusCode, message: string): void {
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
      { endStream: true },
    );
    // Do not read the rest of a refused request.
    if (!stream.readableEnded) stream.close(h2.NGHTTP2_NO_ERROR);
  }
}
