// Figures an operator asks of a tenant, from what the admin API reports: headroom under ingestion_rate,
// time until the limit at the current trend, whether it is caught in a retry storm, and whether the tenant
// is unknown (never seen and not configured). Pure functions, so they are tested without a browser.

export interface TenantFigures {
  limits: { ingestion_rate: number } & Record<string, unknown>;
  limit_sources: Record<string, string>;
  enforcement: { tenant_enabled: boolean; limits: Record<string, boolean> };
  window: {
    requests: number;
    denied: number;
    samples_per_second: number;
    accepted_samples_per_second: number;
    rejected_samples_per_second: number;
  };
  trend: { direction: 'up' | 'down' | 'flat'; samples_per_second_change_per_minute: number };
  stats: unknown;
  first_seen: string | null;
}

/** ingestion_rate minus the samples/s offered now; null when the limit is 0 (unlimited). */
export function headroom(t: TenantFigures): number | null {
  const limit = t.limits.ingestion_rate;
  if (!(limit > 0)) return null;
  return limit - t.window.samples_per_second;
}

/**
 * Minutes until the offered samples/s reach ingestion_rate if the trend holds: 0 when already at or over
 * it, null when unlimited or not rising (it would never get there).
 */
export function minutesToLimit(t: TenantFigures): number | null {
  const room = headroom(t);
  if (room === null) return null;
  if (room <= 0) return 0;
  const perMinute = t.trend.samples_per_second_change_per_minute;
  if (t.trend.direction !== 'up' || !(perMinute > 0)) return null;
  return room / perMinute;
}

export function minutesText(minutes: number | null): string {
  if (minutes === null) return 'not rising';
  if (minutes === 0) return 'at the limit';
  if (minutes < 1) return '< 1 min';
  if (minutes < 120) return `${Math.round(minutes)} min`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h`;
  return `${Math.round(minutes / 1440)} d`;
}

/**
 * A retry storm: most requests are denied and resent, so what is offered is many times what is accepted.
 * The sender is not sending more data, only retrying it; raising the limit or slowing the sender helps,
 * counting its offered samples as load does not.
 */
export function retryStorm(t: TenantFigures): boolean {
  const w = t.window;
  if (w.requests < 10) return false;
  return w.denied / w.requests >= 0.5 && w.rejected_samples_per_second >= 2 * w.accepted_samples_per_second;
}

/** Never seen in traffic and nothing set for it anywhere: its page has nothing to show but the defaults. */
export function unknownTenant(t: TenantFigures): boolean {
  const configured =
    Object.values(t.limit_sources).some((s) => s !== 'default') ||
    !t.enforcement.tenant_enabled ||
    Object.values(t.enforcement.limits).some((on) => !on);
  return !configured && t.first_seen === null && t.stats === null;
}

/** Headroom in words: "unlimited", "350 samples/s", or "over by 1,900 samples/s" (unit as given). */
export function headroomText(
  room: number | null,
  format: (n: number) => string,
  unit = ' samples/s',
): string {
  if (room === null) return 'unlimited';
  return room < 0 ? `over by ${format(-room)}${unit}` : `${format(room)}${unit}`;
}

export interface RatePoint {
  partial?: boolean;
  requests_per_second: number;
  accepted_samples_per_second: number;
  denied: number;
}

/**
 * Retries climbing: over the finished buckets of a chart, requests/s in the newer half are at least 1.5 times
 * the older half while accepted samples/s stay within 10%, with denials in the newer half. More requests for
 * the same accepted data means a sender resending what is refused.
 */
export function retriesClimbing(points: readonly RatePoint[]): boolean {
  const done = points.filter((p) => !p.partial);
  if (done.length < 4) return false;
  const half = Math.floor(done.length / 2);
  const older = done.slice(0, half);
  const newer = done.slice(done.length - half);
  const avg = (ps: readonly RatePoint[], f: (p: RatePoint) => number) =>
    ps.reduce((n, p) => n + f(p), 0) / ps.length;
  const reqBefore = avg(older, (p) => p.requests_per_second);
  const reqAfter = avg(newer, (p) => p.requests_per_second);
  const accBefore = avg(older, (p) => p.accepted_samples_per_second);
  const accAfter = avg(newer, (p) => p.accepted_samples_per_second);
  const denied = newer.reduce((n, p) => n + p.denied, 0);
  return reqBefore > 0 && reqAfter >= 1.5 * reqBefore && accAfter <= 1.1 * accBefore && denied > 0;
}
