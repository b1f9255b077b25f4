// Forwards requests to the upstream (Mimir's distributors or any HTTP API) over a keep-alive pool and
// relays its answer unchanged. Only hop-by-hop headers are dropped, as every HTTP proxy must; an upstream
// that cannot answer (down, slow, resetting) becomes a retriable 5xx for the client, never a 4xx.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';
import { RetryAfterHeader } from '../decision/retry-after.js';
import type { Decision } from '../decision/decision.js';
import type { UpstreamAgreement } from '../observe/upstream-agreement.js';
import { UPSTREAM_BODY_PEEK } from '../observe/upstream-agreement.js';
import type { UpstreamRoute } from '../decide/adaptive/ceiling-controller.js';

/** Told of every upstream answer: its route, ms from forwarding to its headers, and its status (0: none came). */
export type UpstreamObserver = (route: UpstreamRoute, ms: number, status: number) => void;

// RFC 9110 §7.6.1 connection-specific headers, plus Host (set from the upstream URL) and Expect
// (Node's server already answered 100-continue to the client).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'expect',
]);

/**
 * The pool, chosen on purpose rather than left to undici's defaults:
 * - up to 256 connections to the one upstream origin. Requests past that wait in undici's queue, which the
 *   proxy's in-flight bound (MAX_INFLIGHT_REQUESTS) keeps finite;
 * - an idle connection is kept 30 s (or what the upstream's Keep-Alive hint says, at most 120 s). Mimir
 *   (Go) closes idle connections after 2 min by default, so we close first and rarely reuse a dying one;
 * - connecting may take at most 10 s (or UPSTREAM_TIMEOUT when shorter).
 */
export const UPSTREAM_POOL = Object.freeze({
  connections: 256,
  keepAliveTimeoutMs: 30_000,
  keepAliveMaxTimeoutMs: 120_000,
  connectTimeoutMs: 10_000,
});

/**
 * End-to-end headers a decision reads: how the body is framed and encoded (the format measured), and who it
 * belongs to. A client's `Connection: content-type` must not make the upstream read the body differently from
 * how the edge measured it, nor `Connection: authorization` / `Connection: x-scope-orgid` make it ingest the
 * write under another tenant, so a Connection token naming one of these is ignored. The tenant header the
 * edge charged is not left to this list: the proxy sends it itself (`extra`), replacing the client's.
 */
const DECISION_HEADERS = new Set([
  'content-type',
  'content-encoding',
  'content-length',
  'authorization',
  'x-scope-orgid',
]);

/**
 * The client's headers minus hop-by-hop ones, as a flat [name, value, ...] list in their original order and
 * case, then `extra` ([name, value, ...]), which replaces any client header of the same name.
 */
export function forwardableHeaders(rawHeaders: readonly string[], extra?: readonly string[]): string[] {
  let connectionTokens: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') {
      for (const t of rawHeaders[i + 1]!.split(',')) {
        const token = t.trim().toLowerCase();
        if (DECISION_HEADERS.has(token)) continue;
        connectionTokens ??= new Set();
        connectionTokens.add(token);
      }
    }
  }
  let replaced: string | undefined;
  let replacedMore: Set<string> | undefined;
  if (extra) {
    // Usually one header (the tenant): a string compare, no Set.
    for (let i = 0; i < extra.length; i += 2) {
      const name = extra[i]!.toLowerCase();
      if (replaced === undefined) replaced = name;
      else (replacedMore ??= new Set()).add(name);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || connectionTokens?.has(lower)) continue;
    if (lower === replaced || replacedMore?.has(lower)) continue;
    out.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  if (extra) out.push(...extra);
  return out;
}

function responseHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  // No prototype: a header named `__proto__` is a header like any other, not a prototype change.
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The reason a forward was abandoned by the edge itself (deadline, client gone), as the abort reason. */
class ForwardAborted extends Error {
  constructor(readonly why: 'deadline' | 'client_gone') {
    super(why === 'deadline' ? 'upstream deadline exceeded' : 'client closed the connection');
  }
}

/**
 * A connection the pool reused was closed by the upstream as we sent on it (the keep-alive race), or it was
 * reset before any answer. Nothing was answered, so sending a buffered remote-write body again is safe:
 * remote write is idempotent (Mimir drops duplicate samples), and Prometheus would resend it anyway.
 */
function isRetriableReset(err: Error): boolean {
  if (err instanceof undiciErrors.SocketError) return true;
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

/**
 * Streams the upstream's response body to the client. Not stream.pipeline: on every normal finish it aborts an
 * internal AbortController, and the DOMException that builds (with a stack trace) cost ~40 µs per request in
 * the soak profile. Same cleanup: an upstream error destroys the client's response; a client that leaves
 * destroys the upstream body, which frees the pooled connection.
 */
function relay(body: Readable, res: ServerResponse): void {
  body.on('error', (err) => {
    if (!res.destroyed) res.destroy(err);
  });
  res.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(res);
}

/**
 * Hands `done` the first UPSTREAM_BODY_PEEK bytes of `body` as text, once they (or the whole body) have passed,
 * without holding up the relay: it listens beside the pipe and stops listening once it has enough.
 */
function peekBody(body: Readable, done: (text: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    body.off('data', onData);
    done(Buffer.concat(chunks, size).toString('utf8'));
  };
  const onData = (chunk: Buffer): void => {
    const room = UPSTREAM_BODY_PEEK - size;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      chunks.push(part);
      size += part.length;
    }
    if (size >= UPSTREAM_BODY_PEEK) finish();
  };
  body.on('data', onData);
  body.once('end', finish);
  body.once('close', finish);
}

/** The body sent upstream is not the client's (partial acceptance, selective filtering). */
export interface ReplacedBody {
  /** Answers the client on a 2xx instead of the upstream's answer; when absent, the upstream's 2xx is relayed. */
  onAccepted?(res: ServerResponse): void;
  /** Told of a 2xx, even when the client has gone meanwhile: the upstream holds what was sent. */
  delivered?(): void;
}

export class Upstream {
  private readonly agent: Agent;
  private readonly origin: string;
  private readonly basePath: string;
  /** Set when the edge drains: answers then carry `Connection: close`, so clients reconnect elsewhere. */
  draining = false;
  /** Told the upstream's answer to each write the edge decided (decision agreement); set by the service. */
  agreement: UpstreamAgreement | undefined;
  /** Adaptive protection's view of the upstream (src/decide/adaptive/); absent: nobody watches. */
  observer: UpstreamObserver | undefined;

  /**
   * `timeoutMs` (UPSTREAM_TIMEOUT) is a whole deadline from forwarding to the upstream's response headers,
   * including the wait for a pooled connection and the connect; undici's own timeouts are per phase
   * (headers after the request was written, and each gap between body chunks), so the deadline is ours.
   * After the headers, the response body may take longer, as long as no gap exceeds `timeoutMs`.
   */
  constructor(
    url: URL,
    private readonly timeoutMs: number,
    private readonly metrics: EdgeMetrics,
    private readonly log: Logger,
    /** Retry-After on the edge's own 502/504 (the upstream's own answers are relayed with their headers). */
    private readonly retryAfter: RetryAfterHeader = new RetryAfterHeader(),
  ) {
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.agent = new Agent({
      connections: UPSTREAM_POOL.connections,
      keepAliveTimeout: UPSTREAM_POOL.keepAliveTimeoutMs,
      keepAliveMaxTimeout: UPSTREAM_POOL.keepAliveMaxTimeoutMs,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connectTimeout: Math.min(timeoutMs, UPSTREAM_POOL.connectTimeoutMs),
    });
  }

  get target(): string {
    return this.origin + this.basePath;
  }

  /**
   * Sends the request upstream with `body` (the buffered bytes, or the client's stream for pass-through)
   * and relays the upstream's status, headers and body to `res`. A buffered body is sent once more if the
   * connection was reset before any answer. `route` says which of the upstream's answers the observer is told of.
   * `tenant` and `decision`: the edge's decision on this write, compared with the upstream's answer once it
   * arrives (never before: the hot path does not wait for it).
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | IncomingMessage | null,
    requestId: string,
    extraHeaders?: readonly string[],
    replaced?: ReplacedBody,
    route: UpstreamRoute = 'other',
    tenant?: string,
    decision?: Decision,
  ): void {
    let headers = forwardableHeaders(req.rawHeaders, extraHeaders);
    // A replacement body has its own length: undici sets it, the client's would not match.
    if (replaced)
      headers = headers.filter((_, i, all) => all[i - (i & 1)]!.toLowerCase() !== 'content-length');
    const options: Dispatcher.RequestOptions = {
      origin: this.origin,
      path: this.basePath + (req.url ?? '/'),
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body,
    };
    this.attempt(options, req, res, requestId, Buffer.isBuffer(body), replaced, route, tenant, decision);
  }

  private attempt(
    options: Dispatcher.RequestOptions,
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    mayRetry: boolean,
    replaced: ReplacedBody | undefined,
    route: UpstreamRoute,
    tenant?: string,
    decision?: Decision,
  ): void {
    const started = performance.now();
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(new ForwardAborted('deadline')), this.timeoutMs);
    // The client left: stop waiting for (and reading from) the upstream, freeing the connection and the slot.
    const onClientGone = (): void => {
      if (!res.writableFinished) controller.abort(new ForwardAborted('client_gone'));
    };
    res.once('close', onClientGone);
    options.signal = controller.signal;
    this.agent.request(options, (err, data) => {
      clearTimeout(deadline);
      if (err) {
        res.off('close', onClientGone);
        if (mayRetry && !res.destroyed && isRetriableReset(err)) {
          this.metrics.upstreamErrors.labels('retried').inc();
          this.attempt(options, req, res, requestId, false, replaced, route, tenant, decision);
          return;
        }
        // No answer is the worst answer, unless the client left and we stopped waiting.
        if (!(err instanceof ForwardAborted && err.why === 'client_gone'))
          this.observer?.(route, performance.now() - started, 0);
        this.failed(err, res, requestId, req);
        return;
      }
      const ms = performance.now() - started;
      const seconds = ms / 1000;
      const code = data.statusCode;
      this.observer?.(route, ms, code);
      this.metrics.upstreamDuration.labels(`${Math.floor(code / 100)}xx`).observe(seconds);
      this.metrics.upstreamResponses.labels(String(code)).inc();
      const accepted = replaced !== undefined && code >= 200 && code < 300;
      if (accepted) replaced.delivered?.();
      const agreement = decision !== undefined && tenant !== undefined ? this.agreement : undefined;
      if (res.destroyed) {
        agreement?.record(tenant!, decision!, code, '');
        data.body.destroy();
        return;
      }
      if (accepted && replaced.onAccepted) {
        data.body.resume();
        replaced.onAccepted(res);
        return;
      }
      const headers = responseHeaders(data.headers);
      if (this.draining) headers.connection = 'close';
      res.writeHead(code, headers);
      relay(data.body, res);
      // After the answer is on its way (the body's chunks flow on a later tick, so the peek misses none).
      if (agreement !== undefined) {
        // A 4xx names its reason in its body (Mimir's err-mimir-* id): read the start of it as it is relayed.
        if (code >= 400 && code < 500)
          peekBody(data.body, (text) => agreement.record(tenant!, decision!, code, text));
        else agreement.record(tenant!, decision!, code, '');
      }
    });
  }

  private failed(err: Error, res: ServerResponse, requestId: string, req: IncomingMessage): void {
    if (err instanceof ForwardAborted && err.why === 'client_gone') {
      // Nobody is waiting for an answer; this is not an upstream failure.
      this.metrics.upstreamErrors.labels('client_gone').inc();
      return;
    }
    const timeout =
      err instanceof ForwardAborted ||
      err instanceof undiciErrors.HeadersTimeoutError ||
      err instanceof undiciErrors.BodyTimeoutError ||
      err instanceof undiciErrors.ConnectTimeoutError;
    const cause = timeout ? 'timeout' : ((err as NodeJS.ErrnoException).code ?? err.name);
    this.metrics.upstreamErrors.labels(timeout ? 'timeout' : 'unavailable').inc();
    this.log.error(
      { request_id: requestId, upstream: this.target, path: req.url, cause, err: err.message },
      'upstream request failed',
    );
    if (res.headersSent) {
      res.destroy(err);
      return;
    }
    const status = timeout ? 504 : 502;
    const text = timeout
      ? `the upstream ${this.target} did not answer within ${this.timeoutMs} ms; retry later (err-mimir-edge-upstream-timeout).\n`
      : `the upstream ${this.target} is unavailable (${cause}); retry later (err-mimir-edge-upstream-unavailable).\n`;
    const wait = this.retryAfter.value(status, req.headers['retry-attempt']);
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      ...(wait !== undefined ? { 'retry-after': wait } : {}),
      'content-length': Buffer.byteLength(text),
      ...(this.draining ? { connection: 'close' } : {}),
    });
    res.end(text);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
