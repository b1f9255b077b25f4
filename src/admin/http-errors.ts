// The admin API's error answers: one JSON shape {error, path?} with the right status, and the
// checks of query parameters every read route shares. Never throws for bad input; it answers it.

import type { FastifyReply } from 'fastify';
import { tenantIdProblem } from '../lib/identify/tenant-id.js';
import { OTHER_TENANTS } from '../observe/traffic-stats.js';
import type { RangeName } from '../observe/stats/time-ranges.js';
import { RANGES, isRangeName } from '../observe/stats/time-ranges.js';

export class BadRequest extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

export function sendError(reply: FastifyReply, status: number, error: string, path?: string): FastifyReply {
  return reply.code(status).send(path === undefined ? { error } : { error, path });
}

export function parseRange(value: unknown, fallback: RangeName): RangeName {
  if (value === undefined || value === '') return fallback;
  if (isRangeName(value)) return value;
  throw new BadRequest('range', `must be one of ${RANGES.join(', ')}, got ${JSON.stringify(value)}`);
}

export function parseCount(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new BadRequest(name, `must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

/** Checks a tenant id from a URL the way the proxy checks the tenant header. */
export function checkTenantId(id: string): void {
  if (id === OTHER_TENANTS) return;
  const problem = tenantIdProblem(id);
  if (problem) throw new BadRequest('id', `invalid tenant id: ${problem}`);
}
