// The token bucket as one PostgreSQL statement: INSERT … ON CONFLICT … DO UPDATE … RETURNING, with the
// refill computed in SQL on the server's clock. The row lock of the upsert makes each take atomic; the
// arithmetic is src/lib/engine/token-bucket.ts step for step. Never compute time or tokens in the client.

/** Longest a row is kept when its bucket never refills (rate 0): one day. */
export const MAX_TTL_MS = 86_400_000;

/** The server's clock in ms (clock_timestamp(): evaluated once the row is locked, so it never runs backwards per row). */
const SERVER_CLOCK = `(extract(epoch FROM clock_timestamp()) * 1000)::float8`;
/** Tests only: the clock is parameter $9, so a property test can drive time exactly. */
const PARAMETER_CLOCK = `$9::float8`;

/**
 * Parameters: $1 tenant, $2 request rate, $3 request burst, $4 ingestion rate, $5 ingestion burst,
 * $6 cost, $7 request enforced, $8 request tokens (1 per request; a hits_addend takes n at once). `source` gives the state before the take (rt, ru, it, iu) from `p`
 * (parameters) and `n` (now).
 */
function compute(source: string): string {
  const ttl = (rate: string, burst: string) =>
    `CASE WHEN ${rate} <= 0 THEN ${MAX_TTL_MS} ELSE LEAST(${MAX_TTL_MS}, ceil((${burst} * 1000) / ${rate}) + 1000) END`;
  return `
SELECT
  CASE WHEN p.rr > 0 AND NOT r2.rdeny THEN r1.rt1 - p.rc ELSE r1.rt1 END,
  r1.ru1,
  CASE WHEN NOT k.skip AND p.cost <= i1.it1 THEN i1.it1 - p.cost ELSE i1.it1 END,
  i1.iu1,
  CASE WHEN NOT r2.rdeny THEN 0 WHEN p.rc > p.rb THEN 'Infinity'::float8 ELSE ((p.rc - r1.rt1) * 1000) / p.rr END,
  CASE WHEN k.skip OR p.cost <= i1.it1 THEN 0
       WHEN p.cost > p.ib OR p.ir <= 0 THEN 'Infinity'::float8
       ELSE ((p.cost - i1.it1) * 1000) / p.ir END,
  n.now + GREATEST(${ttl('p.ir', 'p.ib')}, CASE WHEN p.rr > 0 THEN ${ttl('p.rr', 'p.rb')} ELSE 0 END)
FROM
  (SELECT $2::float8 AS rr, $3::float8 AS rb, $4::float8 AS ir, $5::float8 AS ib, $6::float8 AS cost, $7::boolean AS enforced, $8::float8 AS rc) p,
  (SELECT CLOCK AS now) n,
  LATERAL (${source}) s,
  LATERAL (SELECT
    CASE WHEN p.rr <= 0 THEN s.rt
         WHEN n.now > s.ru THEN LEAST(p.rb, s.rt + ((n.now - s.ru) * p.rr) / 1000)
         ELSE LEAST(s.rt, p.rb) END AS rt1,
    CASE WHEN p.rr > 0 AND n.now > s.ru THEN n.now ELSE s.ru END AS ru1) r1,
  LATERAL (SELECT p.rr > 0 AND p.rc > r1.rt1 AS rdeny) r2,
  LATERAL (SELECT (r2.rdeny AND p.enforced) OR p.cost <= 0 AS skip) k,
  LATERAL (SELECT
    CASE WHEN k.skip THEN s.it
         WHEN n.now > s.iu THEN LEAST(p.ib, s.it + ((n.now - s.iu) * p.ir) / 1000)
         ELSE LEAST(s.it, p.ib) END AS it1,
    CASE WHEN NOT k.skip AND n.now > s.iu THEN n.now ELSE s.iu END AS iu1) i1`;
}

const COLUMNS = 'req_tokens, req_updated, ing_tokens, ing_updated, req_wait, ing_wait, expires_at';

function takeSql(table: string, clock: string): string {
  // A new tenant starts full. A stored row is used as it is, even past its expiry: refill makes it full
  // anyway under the limits it was written with, and stays exact if the limits were lowered since.
  const fresh = `SELECT p.rb AS rt, n.now AS ru, p.ib AS it, n.now AS iu`;
  const stored = `SELECT b.req_tokens AS rt, b.req_updated AS ru, b.ing_tokens AS it, b.ing_updated AS iu`;
  return `
INSERT INTO ${table} AS b (tenant, ${COLUMNS})
${compute(fresh).replace('SELECT\n', 'SELECT $1::text,\n')}
ON CONFLICT (tenant) DO UPDATE SET (${COLUMNS}) = (${compute(stored)})
RETURNING ${COLUMNS}`.replaceAll('CLOCK', clock);
}

/** The take statement on the server's clock. */
export function takeStatement(table: string): string {
  return takeSql(table, SERVER_CLOCK);
}

/** The take statement reading the time from $9 (tests only; production never sends it). */
export function takeStatementWithClockParameter(table: string): string {
  return takeSql(table, PARAMETER_CLOCK);
}

export function createTableStatement(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
  tenant text PRIMARY KEY,
  req_tokens float8 NOT NULL,
  req_updated float8 NOT NULL,
  ing_tokens float8 NOT NULL,
  ing_updated float8 NOT NULL,
  req_wait float8 NOT NULL,
  ing_wait float8 NOT NULL,
  expires_at float8 NOT NULL
)`;
}

/**
 * After a fallback period: lowers each bucket to at most the given ceiling, never raises it; a missing
 * or expired row counts as full. $1 tenant, $2..$5 limits, $6 request ceiling, $7 ingestion ceiling
 * (below 0: leave alone).
 */
export function reconcileStatement(table: string): string {
  const lower = (col: string, burst: string, ceiling: string) =>
    `CASE WHEN ${ceiling} >= 0 AND ${ceiling} < LEAST(${col}, ${burst}) THEN ${ceiling} ELSE ${col} END`;
  return `
INSERT INTO ${table} AS b (tenant, ${COLUMNS})
SELECT $1::text, ${lower('$3::float8', '$3::float8', '$6::float8')}, n.now, ${lower('$5::float8', '$5::float8', '$7::float8')}, n.now, 0, 0, n.now + ${MAX_TTL_MS}
FROM (SELECT ${SERVER_CLOCK} AS now) n
ON CONFLICT (tenant) DO UPDATE SET
  req_tokens = ${lower('b.req_tokens', '$3::float8', '$6::float8')},
  ing_tokens = ${lower('b.ing_tokens', '$5::float8', '$7::float8')},
  expires_at = GREATEST(b.expires_at, ${SERVER_CLOCK} + ${MAX_TTL_MS})`;
}

/** Deletes rows whose buckets are full again (their expiry has passed): they change no decision. */
export function sweepStatement(table: string): string {
  return `DELETE FROM ${table} WHERE expires_at < ${SERVER_CLOCK}`;
}
