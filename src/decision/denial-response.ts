// How a denial looks over HTTP, shared by every HTTP-shaped transport (proxy, authz endpoint, Envoy
// denied_response): the status, a short plain-text body, Retry-After when waiting helps, and the
// decision headers of document 000.

import type { Decision } from './decision.js';

export function denialHeaders(d: Decision, tenant: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'x-rate-limited': d.status === 429 ? 'true' : 'false' };
  if (tenant !== undefined) headers['x-tenant-id'] = tenant;
  if (d.retryAfterSeconds > 0) headers['retry-after'] = String(d.retryAfterSeconds);
  return headers;
}

export function denialBody(d: Decision): string {
  return d.message + '\n';
}
