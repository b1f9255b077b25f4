// The enforcement mode endpoints: read the service's mode and the tenants with one of their own (viewer),
// switch either at runtime (operator). A switch takes effect on the next request, is audited with its actor
// and logged; it is not part of the versioned limits, so a restart goes back to DRY_RUN's mode.

import type { FastifyInstance } from 'fastify';
import type { EnforcementMode, ModeSwitch } from '../decide/enforcement-mode.js';
import { ENFORCEMENT_MODES, parseMode } from '../decide/enforcement-mode.js';
import { RANGE_MS } from '../observe/stats/time-ranges.js';
import type { AdminContext } from './context.js';
import { BadRequest, checkTenantId } from './http-errors.js';
import { iso, windowJson } from './tenant-views.js';
import type { TenantTable } from './tenant-views.js';
import { isMapping } from '../lib/is-mapping.js';

/**
 * Validates a mode switch's body `{mode, reason?}` against `modes` (parsed by `parse`); `mode: null` is allowed only
 * where `nullable` (a tenant back to the service's mode), and then comes back as undefined.
 */
export function parseModeRequest<M extends string>(
  body: unknown,
  modes: readonly M[],
  parse: (value: unknown) => M | undefined,
): { mode: M; reason: string | null };
export function parseModeRequest<M extends string>(
  body: unknown,
  modes: readonly M[],
  parse: (value: unknown) => M | undefined,
  nullable: boolean,
): { mode: M | undefined; reason: string | null };
export function parseModeRequest<M extends string>(
  body: unknown,
  modes: readonly M[],
  parse: (value: unknown) => M | undefined,
  nullable = false,
): { mode: M | undefined; reason: string | null } {
  const choices = `${modes.map((m) => `"${m}"`).join(', ')}${nullable ? ' or null (follow the service)' : ''}`;
  if (!isMapping(body))
    throw new BadRequest('body', `must be a JSON object {"mode": ...} with mode ${choices}`);
  for (const key of Object.keys(body))
    if (key !== 'mode' && key !== 'reason')
      throw new BadRequest(key, 'unknown field (expected mode, reason)');
  const reason = body.reason;
  if (reason !== undefined && reason !== null && (typeof reason !== 'string' || reason.length > 500))
    throw new BadRequest('reason', 'must be a string of at most 500 characters');
  if (body.mode === null && nullable)
    return { mode: undefined, reason: (reason as string | undefined) ?? null };
  const mode = parse(body.mode);
  if (mode === undefined)
    throw new BadRequest('mode', `must be one of ${choices}, got ${JSON.stringify(body.mode)}`);
  return { mode, reason: (reason as string | undefined) ?? null };
}

/** An enforcement mode switch: the service's (`nullable` false) or a tenant's. */
export function parseModeChange(
  body: unknown,
  nullable: boolean,
): { mode: EnforcementMode | undefined; reason: string | null } {
  return parseModeRequest(body, ENFORCEMENT_MODES, parseMode, nullable);
}

/** What GET /api/system/mode shows: the mode, who differs from it, and what dry-run would have denied. */
export function modeJson(ctx: AdminContext, mode: ModeSwitch) {
  const nowMs = ctx.now();
  const recent = windowJson(ctx.aggregator.window(undefined, nowMs, RANGE_MS['5m']));
  return {
    mode: mode.global,
    changed_at: iso(mode.changedAt),
    tenants: mode.tenantModes().map(([tenant, m]) => ({ tenant, mode: m })),
    would_deny: {
      since_start: ctx.stats.total.wouldDeny,
      last_5m_by_reason: recent.would_deny_by_reason,
    },
    unchecked_requests: mode.uncheckedRequests,
  };
}

export function registerModeRoutes(app: FastifyInstance, ctx: AdminContext, table: TenantTable): void {
  const mode = ctx.mode;
  if (!mode) return;

  app.get('/api/system/mode', async () => modeJson(ctx, mode));

  app.post('/api/system/mode', { config: { role: 'operator' } }, async (req) => {
    const { mode: next, reason } = parseModeChange(req.body, false);
    const before = mode.global;
    mode.setGlobal(next!, ctx.now());
    table.invalidate();
    const entry = ctx.audit.append({
      time: new Date(ctx.now()).toISOString(),
      actor: req.principal!.name,
      role: req.principal!.role,
      action: 'system.mode.update',
      tenant: null,
      before: { mode: before },
      after: { mode: next },
      reason,
      version: null,
    });
    ctx.log.warn({ actor: entry.actor, before, after: next, reason }, `enforcement mode ${before} → ${next}`);
    return { audit_id: entry.id, ...modeJson(ctx, mode) };
  });

  app.post<{ Params: { id: string } }>(
    '/api/tenants/:id/mode',
    { config: { role: 'operator' } },
    async (req) => {
      const id = req.params.id;
      checkTenantId(id);
      const { mode: next, reason } = parseModeChange(req.body, true);
      const before = mode.tenantMode(id) ?? null;
      mode.setTenant(id, next);
      table.invalidate();
      const entry = ctx.audit.append({
        time: new Date(ctx.now()).toISOString(),
        actor: req.principal!.name,
        role: req.principal!.role,
        action: 'tenant.mode.update',
        tenant: id,
        before: { mode: before },
        after: { mode: next ?? null },
        reason,
        version: null,
      });
      ctx.log.warn(
        { actor: entry.actor, tenant: id, before, after: next ?? null, reason },
        `tenant ${id} enforcement mode ${before ?? 'service'} → ${next ?? 'service'}`,
      );
      return {
        audit_id: entry.id,
        tenant: id,
        mode: next ?? null,
        effective_mode: mode.effective(id),
        service_mode: mode.global,
      };
    },
  );
}
