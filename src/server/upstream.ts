// Forwards requests to the upstream (Mimir's distributors or any HTTP API) over a keep-alive pool and
// relays its answer unchanged. Only hop-by-hop headers are dropped, as every HTTP proxy must; an upstream
// that cannot answer becomes a retriable 5xx for the client, never a 4xx.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { Agent, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import type { Logger } from './logger.js';
import type { EdgeMetrics } from './metrics.js';

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

/** The client's headers minus hop-by-hop ones, as a flat [name, value, ...] list in their original order and case. */
export function forwardableHeaders(rawHeaders: readonly string[], extra?: readonly string[]): string[] {
  let connectionTokens: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') {
      connectionTokens ??= new Set();
      for (const t of rawHeaders[i + 1]!.split(',')) connectionTokens.add(t.trim().toLowerCase());
    }
  }
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || connectionTokens?.has(lower)) continue;
    out.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  if (extra) out.push(...extra);
  return out;
}

function responseHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

export class Upstream {
  private readonly agent: Agent;
  private readonly origin: string;
  private readonly basePath: string;

  constructor(
    url: URL,
    private readonly timeoutMs: number,
    private readonly metrics: EdgeMetrics,
    private readonly log: Logger,
  ) {
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connections: 256,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connectTimeout: Math.min(timeoutMs, 10_000),
    });
  }

  get target(): string {
    return this.origin + this.basePath;
  }

  /**
   * Sends the request upstream with `body` (the buffered bytes, or the client's stream for pass-through)
   * and relays the upstream's status, headers and body to `res`.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | IncomingMessage | null,
    requestId: string,
    extraHeaders?: readonly string[],
  ): void {
    const started = performance.now();
    const options: Dispatcher.RequestOptions = {
      origin: this.origin,
      path: this.basePath + (req.url ?? '/'),
      method: req.method as Dispatcher.HttpMethod,
      headers: forwardableHeaders(req.rawHeaders, extraHeaders),
      body,
    };
    this.agent.request(options, (err, data) => {
      if (err) {
        this.failed(err, res, requestId, req);
        return;
      }
      const seconds = (performance.now() - started) / 1000;
      const code = data.statusCode;
      this.metrics.upstreamDuration.labels(`${Math.floor(code / 100)}xx`).observe(seconds);
      this.metrics.upstreamResponses.labels(String(code)).inc();
      res.writeHead(code, responseHeaders(data.headers));
      pipeline(data.body, res, (pipeErr) => {
        if (pipeErr && !res.destroyed) res.destroy(pipeErr);
      });
    });
  }

  private failed(err: Error, res: ServerResponse, requestId: string, req: IncomingMessage): void {
    const timeout =
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
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'retry-after': '1',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
