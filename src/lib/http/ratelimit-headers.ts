// Rate-limit response headers: the IETF httpapi draft's RateLimit-Policy and RateLimit (structured
// fields, one list member per policy), and as options the older draft's RateLimit-Limit/Remaining/Reset
// and the X-RateLimit-* convention of document 002. Pure: formats what it is given, reads no clock.

import type { RateDecision } from '../engine/rate-decision.js';

export type HeaderStyle = 'draft' | 'legacy' | 'x-ratelimit';

/** Seconds, rounded up, never negative (headers carry whole seconds). */
function seconds(ms: number): number {
  return ms > 0 ? Math.ceil(ms / 1000) : 0;
}

/** A policy name as a structured-field string. */
function sfString(name: string): string {
  return `"${(name === '' ? 'default' : name).replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * Headers for `decisions` (every enforced policy that applied; `primary` is the one that decided or is
 * closest to deciding). Returns [name, value] pairs.
 */
export function rateLimitHeaders(
  decisions: readonly RateDecision[],
  primary: RateDecision,
  nowMs: number,
  styles: readonly HeaderStyle[],
): [string, string][] {
  const out: [string, string][] = [];
  const reset = seconds(primary.resetAtMs - nowMs);
  for (const style of styles) {
    if (style === 'draft') {
      out.push([
        'RateLimit-Policy',
        decisions
          .map(
            (d) =>
              `${sfString(d.policy)};q=${d.limit}${d.windowMs > 0 && d.windowMs < Infinity ? `;w=${seconds(d.windowMs)}` : ''}`,
          )
          .join(', '),
      ]);
      out.push([
        'RateLimit',
        decisions
          .map((d) => `${sfString(d.policy)};r=${d.remaining};t=${seconds(d.resetAtMs - nowMs)}`)
          .join(', '),
      ]);
    } else if (style === 'legacy') {
      out.push(['RateLimit-Limit', String(primary.limit)]);
      out.push(['RateLimit-Remaining', String(primary.remaining)]);
      out.push(['RateLimit-Reset', String(reset)]);
    } else {
      out.push(['X-RateLimit-Limit', String(primary.limit)]);
      out.push(['X-RateLimit-Remaining', String(primary.remaining)]);
      // Epoch seconds, as document 002 and most X-RateLimit users expect.
      out.push(['X-RateLimit-Reset', String(Math.ceil(primary.resetAtMs / 1000))]);
      out.push(['X-RateLimit-Policy', primary.policy === '' ? 'default' : primary.policy]);
    }
  }
  return out;
}

/** Retry-After in whole seconds (at least 1), or undefined when waiting will never help. */
export function retryAfterSeconds(decision: RateDecision): number | undefined {
  if (decision.retryAfterMs === Infinity) return undefined;
  return Math.max(1, seconds(decision.retryAfterMs));
}
