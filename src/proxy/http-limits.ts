// What a client may cost the proxy listener before a single limit is checked: time to send its headers
// (slowloris) and its whole request, header size, idle keep-alive. Node's parser enforces them; this
// module sets them from the settings and answers parser errors with a clear status, then closes.

import { STATUS_CODES } from 'node:http';
import type { ServerOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { destroySoon } from '../lib/http/socket-close.js';

export interface HttpLimits {
  /** A client must send its complete headers within this (PROXY_HEADERS_TIMEOUT). */
  headersTimeoutMs: number;
  /** ... and its whole request, body included (PROXY_REQUEST_TIMEOUT). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (PROXY_KEEPALIVE_TIMEOUT). */
  keepAliveTimeoutMs: number;
  /** Most bytes of request line plus headers (PROXY_MAX_HEADER_BYTES); more is answered 431. */
  maxHeaderBytes: number;
}

/** The options of the proxy's http.Server. */
export function proxyServerOptions(limits: HttpLimits): ServerOptions {
  const requestTimeout = Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs);
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    // Node checks both timeouts on this interval (30 s by default), so a slow client would get up to 30 s
    // more than configured. A check walks the open connections: cheap at once a second.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** Cause label of rls_client_errors_total. */
export type ClientErrorCause = 'request_timeout' | 'headers_too_large' | 'malformed' | 'reset' | 'bad_target';

/** What the parser refuses; `bad_target` is the proxy's own refusal (request-target.ts), never the parser's. */
type ParserCause = Exclude<ClientErrorCause, 'reset' | 'bad_target'>;

export function clientErrorCause(err: NodeJS.ErrnoException): ParserCause | 'reset' {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'request_timeout';
    case 'HPE_HEADER_OVERFLOW':
      return 'headers_too_large';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    default:
      return 'malformed';
  }
}

const STATUS_BY_CAUSE: Readonly<Record<ParserCause, number>> = {
  request_timeout: 408,
  headers_too_large: 431,
  malformed: 400,
};

function clientErrorText(cause: ParserCause, limits: HttpLimits): string {
  switch (cause) {
    case 'request_timeout':
      return `the request was not received in time: headers must arrive within ${limits.headersTimeoutMs} ms and the whole request within ${Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs)} ms (err-mimir-edge-request-timeout).\n`;
    case 'headers_too_large':
      return `the request headers are larger than ${limits.maxHeaderBytes} bytes (err-mimir-edge-headers-too-large).\n`;
    case 'malformed':
      return 'the request is not valid HTTP/1.1 (for example both Content-Length and Transfer-Encoding, or a bad header); it was not forwarded (err-mimir-edge-bad-request).\n';
  }
}

/**
 * The `clientError` listener: answers what Node's parser refused (408, 431, 400) with a one-line reason
 * and `Connection: close`, then closes. Nothing of such a request reaches the upstream.
 */
export function answerClientError(
  err: NodeJS.ErrnoException,
  socket: Duplex,
  limits: HttpLimits,
  count: (cause: ClientErrorCause) => void,
): void {
  const cause = clientErrorCause(err);
  count(cause);
  // A response already started on this socket cannot be followed by another status line.
  const started = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (cause === 'reset' || !socket.writable || started === true) {
    socket.destroy();
    return;
  }
  const status = STATUS_BY_CAUSE[cause];
  const text = clientErrorText(cause, limits);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
  destroySoon(socket);
}
