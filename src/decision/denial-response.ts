// How a denial looks over HTTP, shared by every HTTP-shaped transport (proxy, authz endpoint, Envoy
// denied_response): the status, a short plain-text body, Retry-After on a 429 or 5xx (as Mimir sends it,
// src/decision/retry-after.ts), and the decision headers of document 000.

import type { Decision } from './decision.js';
import type { RetryAfterHeader } from './retry-after.js';

/**
 * `retryAttempt`: the request's Retry-Attempt header, which lengthens the Retry-After of a sender that keeps
 * retrying.
 */
export function denialHeaders(
  d: Decision,
  tenant: string | undefined,
  retryAfter: RetryAfterHeader,
  retryAttempt: string | readonly string[] | undefined,
): Record<string, string> {
  const headers: Record<string, string> = { 'x-rate-limited': d.status === 429 ? 'true' : 'false' };
  if (tenant !== undefined) headers['x-tenant-id'] = tenant;
  const wait = retryAfter.value(d.status, retryAttempt);
  if (wait !== undefined) headers['retry-after'] = wait;
  return headers;
}

export function denialBody(d: Decision): string {
  return d.message + '\n';
}
