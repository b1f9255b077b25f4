// Stage of the write pipeline (src/decide/write-pipeline.ts), the first, run before the body is read:
// request_rate. Decompression is the costly step of a check (a small body may inflate to MAX_REQUEST_BYTES), so a
// tenant out of requests is refused before it is done. The request bucket is taken here alone; the rates stage
// later takes only the ingestion bucket, so each request is charged once. Tenants without a request_rate skip it
// and have both buckets taken in one call by the rates stage, as before.

import type { Decision } from '../../decision/decision.js';
import type { ResolvedTenant } from '../../limits/tenant-limits.js';
import type { RateAnswer } from '../../stores/rate-store.js';
import type { StageDeps } from '../write-request.js';
import { decideRates, rateQuery } from './rates.js';

/**
 * Takes one request from the tenant's request bucket when it has a request_rate. Undefined: nothing taken (no
 * request_rate). Else the verdict: a denial ends the check; an allowed one (ALLOWED, or an observed would-deny)
 * is carried to the rates stage as `requestTaken`.
 */
export function takeRequest(
  deps: StageDeps,
  tenant: string,
  resolved: ResolvedTenant,
  dryRun: boolean,
): Decision | Promise<Decision> | undefined {
  if (resolved.limits.request_rate <= 0) return undefined;
  const query = rateQuery(resolved, 0, dryRun);
  const answer = deps.store.take(tenant, query, deps.now());
  const decide = (a: RateAnswer): Decision => decideRates(resolved, query, a, dryRun, undefined);
  return answer instanceof Promise ? answer.then(decide) : decide(answer);
}
