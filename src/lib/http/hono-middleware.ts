// Rate limiting for Hono: a middleware over HttpRateLimiter using only the Fetch API surface Hono gives
// (typed structurally, so the library does not depend on Hono). Refusals are returned as a Response;
// allowed responses get the rate-limit headers after the handler ran.

import type { HttpRateLimitOptions, HttpVerdict } from './http-rate-limiter.js';
import { HttpRateLimiter } from './http-rate-limiter.js';

/** The part of Hono's Context this middleware uses. */
export interface HonoContextLike {
  req: { method: string; url: string; raw: Request };
  env: unknown;
  res: Response;
}

export interface HonoRateLimitOptions {
  /** The client's socket address; by default read from @hono/node-server's `env.incoming`. */
  remoteAddress?: (c: HonoContextLike) => string | undefined;
}

function nodeServerAddress(c: HonoContextLike): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

/** `app.use(honoRateLimit({ policies }))`. */
export function honoRateLimit(
  options: HttpRateLimitOptions | HttpRateLimiter,
  hono: HonoRateLimitOptions = {},
): (c: HonoContextLike, next: () => Promise<void>) => Promise<Response | void> {
  const limiter = options instanceof HttpRateLimiter ? options : new HttpRateLimiter(options);
  const remote = hono.remoteAddress ?? nodeServerAddress;
  return async (c, next) => {
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const url = new URL(c.req.url);
    const ctx = limiter.context({
      method: c.req.method,
      url: url.pathname + url.search,
      headers,
      remoteAddress: remote(c),
    });
    const decided = limiter.decide(ctx instanceof Promise ? await ctx : ctx);
    const verdict: HttpVerdict = decided instanceof Promise ? await decided : decided;
    if (!verdict.allowed)
      return new Response(verdict.body, { status: verdict.status, headers: verdict.headers });
    try {
      await next();
    } finally {
      limiter.release(verdict);
    }
    for (const [k, v] of verdict.headers) c.res.headers.set(k, v);
  };
}
