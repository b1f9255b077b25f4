// Rate limiting for Fastify: an onRequest hook over HttpRateLimiter, registered as a plugin that applies
// to the whole instance (not encapsulated). Refusals are sent from the hook; concurrency units are given
// back when the response is done.

import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpRateLimitOptions, HttpVerdict } from './http-rate-limiter.js';
import { HttpRateLimiter } from './http-rate-limiter.js';

/** `await app.register(fastifyRateLimit({ policies }))`. */
export function fastifyRateLimit(options: HttpRateLimitOptions | HttpRateLimiter): FastifyPluginCallback {
  const limiter = options instanceof HttpRateLimiter ? options : new HttpRateLimiter(options);
  const finish = (verdict: HttpVerdict, reply: FastifyReply): FastifyReply | undefined => {
    for (const [k, v] of verdict.headers) reply.header(k, v);
    if (!verdict.allowed) return reply.code(verdict.status).send(verdict.body);
    if (verdict.evaluation.held.length > 0) reply.raw.once('close', () => limiter.release(verdict));
    return undefined;
  };
  const plugin: FastifyPluginCallback = (app, _opts, done) => {
    app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next: (err?: Error) => void) => {
      const facts = {
        method: request.method,
        url: request.url,
        headers: request.headers,
        remoteAddress: request.raw.socket.remoteAddress,
      };
      let ctx;
      try {
        ctx = limiter.context(facts);
      } catch (err) {
        next(err as Error);
        return;
      }
      const later = (verdict: Promise<HttpVerdict>): void => {
        verdict.then(
          (v) => {
            if (finish(v, reply) === undefined) next();
          },
          (err: Error) => next(err),
        );
      };
      if (ctx instanceof Promise) {
        later(ctx.then((c) => limiter.decide(c)));
        return;
      }
      let verdict: HttpVerdict | Promise<HttpVerdict>;
      try {
        verdict = limiter.decide(ctx);
      } catch (err) {
        next(err as Error);
        return;
      }
      if (verdict instanceof Promise) later(verdict);
      else if (finish(verdict, reply) === undefined) next();
    });
    done();
  };
  // Apply to the instance it is registered on rather than an encapsulated child (what fastify-plugin does).
  Object.defineProperty(plugin, Symbol.for('skip-override'), { value: true });
  return plugin;
}
