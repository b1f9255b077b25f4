// Rate limiting for node:http servers and Connect-style frameworks (Express): a request listener
// wrapper and a (req, res, next) middleware over HttpRateLimiter. Sends 429/403 itself; otherwise adds
// the headers and hands on. Awaits only when a JWT must be verified or a shared store (Redis) decides.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRateLimitOptions, HttpVerdict } from './http-rate-limiter.js';
import { HttpRateLimiter } from './http-rate-limiter.js';

function factsOf(req: IncomingMessage): Parameters<HttpRateLimiter['context']>[0] {
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
    remoteAddress: req.socket.remoteAddress,
  };
}

/** Applies a verdict to `res`: true when the request may go on, false when a refusal was sent. */
function apply(limiter: HttpRateLimiter, verdict: HttpVerdict, res: ServerResponse): boolean {
  if (!verdict.allowed) {
    const headers: Record<string, string> = {};
    for (const [k, v] of verdict.headers) headers[k] = v;
    res.writeHead(verdict.status, headers);
    res.end(verdict.body);
    return false;
  }
  for (const [k, v] of verdict.headers) res.setHeader(k, v);
  if (verdict.evaluation.held.length > 0) res.once('close', () => limiter.release(verdict));
  return true;
}

type Next = (err?: unknown) => void;

/** Connect/Express middleware: `app.use(rateLimitMiddleware({ policies }))`. */
export function rateLimitMiddleware(
  options: HttpRateLimitOptions | HttpRateLimiter,
): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  const limiter = options instanceof HttpRateLimiter ? options : new HttpRateLimiter(options);
  return (req, res, next) => {
    let ctx;
    try {
      ctx = limiter.context(factsOf(req));
    } catch (err) {
      next(err);
      return;
    }
    if (ctx instanceof Promise) {
      ctx
        .then((c) => limiter.decide(c))
        .then((v) => {
          if (apply(limiter, v, res)) next();
        }, next);
      return;
    }
    let verdict: HttpVerdict | Promise<HttpVerdict>;
    try {
      verdict = limiter.decide(ctx);
    } catch (err) {
      next(err);
      return;
    }
    if (verdict instanceof Promise) {
      verdict.then((v) => {
        if (apply(limiter, v, res)) next();
      }, next);
      return;
    }
    if (apply(limiter, verdict, res)) next();
  };
}

/** Wraps a node:http request listener: `createServer(withRateLimit(handler, { policies }))`. */
export function withRateLimit(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: HttpRateLimitOptions | HttpRateLimiter,
): (req: IncomingMessage, res: ServerResponse) => void {
  const middleware = rateLimitMiddleware(options);
  return (req, res) =>
    middleware(req, res, (err) => {
      if (err === undefined) {
        handler(req, res);
        return;
      }
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('rate limiting failed\n');
    });
}
