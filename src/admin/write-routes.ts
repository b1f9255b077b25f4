// Endpoints that change the live limits (operator role): a tenant's limits and its enforcement switches.
// Every change is validated in full before anything is applied (bad input: 400 naming the path, nothing
// changed), then committed as one new config version (audited by the commit) and saved before the answer.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChangeMeta, ChangeSource, ConfigVersion } from '../limits/config-history.js';
import { LIMIT_NAMES, limitDefinition, limitValue, validateLimitValue } from '../limits/limit-definitions.js';
import type { LimitName, LimitValue } from '../limits/limit-definitions.js';
import type { Enforcement } from '../limits/tenant-limits.js';
import type { AdminContext } from './context.js';
import { BadRequest, checkTenantId } from './http-errors.js';
import { tenantJson } from './tenant-views.js';
import type { TenantTable } from './tenant-views.js';
import { isMapping } from '../lib/is-mapping.js';

export function readReason(body: Record<string, unknown>): string | null {
  const reason = body.reason;
  if (reason === undefined || reason === null) return null;
  if (typeof reason !== 'string' || reason.length > 500)
    throw new BadRequest('reason', 'must be a string of at most 500 characters');
  return reason;
}

function checkKeys(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body))
    if (!allowed.includes(key)) throw new BadRequest(key, `unknown field (expected ${allowed.join(', ')})`);
}

/**
 * Validates `{limits: {name: value | null}}`: null removes the runtime value of that limit. A value is a number,
 * one of an enum limit's words, a label name, a list of label names or a duration text, by the limit's kind.
 */
export function parseLimitChanges(body: unknown): {
  changes: Partial<Record<LimitName, LimitValue | null>>;
  reason: string | null;
} {
  if (!isMapping(body)) throw new BadRequest('body', 'must be a JSON object {"limits": {...}}');
  checkKeys(body, ['limits', 'reason']);
  const limits = body.limits;
  if (!isMapping(limits) || Object.keys(limits).length === 0)
    throw new BadRequest('limits', 'must be a non-empty object of limit names to values (or null to reset)');
  const changes: Partial<Record<LimitName, LimitValue | null>> = {};
  for (const [name, value] of Object.entries(limits)) {
    const def = limitDefinition(name);
    if (!def)
      throw new BadRequest(
        `limits.${name}`,
        `is not a limit the edge enforces (known: ${LIMIT_NAMES.join(', ')})`,
      );
    if (value === null) {
      changes[def.name] = null;
      continue;
    }
    const error = validateLimitValue(def, value);
    if (error) throw new BadRequest(`limits.${name}`, error);
    changes[def.name] = limitValue(def, value);
  }
  return { changes, reason: readReason(body) };
}

/** Validates `{enabled?: boolean, limits?: {name: boolean | null}}` and merges it into `current`. */
export function parseEnforcementChange(
  body: unknown,
  current: Enforcement,
): { next: Enforcement; reason: string | null } {
  if (!isMapping(body))
    throw new BadRequest('body', 'must be a JSON object {"enabled": true, "limits": {...}}');
  checkKeys(body, ['enabled', 'limits', 'reason']);
  if (body.enabled === undefined && body.limits === undefined)
    throw new BadRequest('body', 'set "enabled" and/or "limits"');
  const next = {
    enabled: current.enabled,
    limits: { ...current.limits } as Partial<Record<LimitName, boolean>>,
  };
  if (body.enabled !== undefined) {
    if (typeof body.enabled !== 'boolean') throw new BadRequest('enabled', 'must be true or false');
    next.enabled = body.enabled;
  }
  if (body.limits !== undefined) {
    if (!isMapping(body.limits))
      throw new BadRequest('limits', 'must be an object of limit names to true/false');
    for (const [name, value] of Object.entries(body.limits)) {
      const def = limitDefinition(name);
      if (!def) throw new BadRequest(`limits.${name}`, 'is not a limit the edge enforces');
      if (value === null) delete next.limits[def.name];
      else if (typeof value !== 'boolean')
        throw new BadRequest(`limits.${name}`, 'must be true, false or null');
      else next.limits[def.name] = value;
    }
  }
  return { next, reason: readReason(body) };
}

/** Who is changing what, from the request's principal. */
export function changeMeta(
  req: FastifyRequest,
  action: string,
  tenant: string | null,
  reason: string | null,
  source: ChangeSource = 'api',
): ChangeMeta {
  return { actor: req.principal!.name, role: req.principal!.role, source, reason, action, tenant };
}

/**
 * Waits until the committed change is saved (STATE_DIR, or Redis shared by the replicas); if saving failed,
 * answers 500 saying the change is in force and what its not being saved means, and returns false.
 */
export async function savedOrAnswered(
  ctx: AdminContext,
  reply: FastifyReply,
  version: ConfigVersion | undefined,
): Promise<boolean> {
  if (!version) return true;
  try {
    await ctx.limits.saved();
    return true;
  } catch (err) {
    ctx.log.error({ err: (err as Error).message, version: version.version }, 'config change not saved');
    await reply.code(500).send({
      error: ctx.limits.unsavedMessage(version.version, err as Error),
    });
    return false;
  }
}

/** The audit entry of `version`, or of a request that changed nothing (recorded as an action, without a version). */
function auditEntryOf(
  ctx: AdminContext,
  req: FastifyRequest,
  version: ConfigVersion | undefined,
  meta: ChangeMeta,
  state: unknown,
) {
  if (version) return ctx.audit.list(1)[0]!;
  return ctx.audit.append({
    time: new Date(ctx.now()).toISOString(),
    actor: req.principal!.name,
    role: req.principal!.role,
    action: meta.action,
    tenant: meta.tenant,
    before: state,
    after: state,
    reason: meta.reason,
    version: null,
    source: 'api',
    diff: [],
  });
}

function readQueryReason(query: unknown): string | null {
  return readReason(isMapping(query) ? query : {});
}

export function registerWriteRoutes(app: FastifyInstance, ctx: AdminContext, table: TenantTable): void {
  const limitsChanged = async (
    req: FastifyRequest,
    reply: FastifyReply,
    id: string,
    changes: Partial<Record<LimitName, LimitValue | null>>,
    reason: string | null,
    action: string,
  ) => {
    const before = { ...ctx.limits.forTenant(id).limits };
    const meta = changeMeta(req, action, id, reason);
    const version = ctx.limits.setRuntimeLimits(id, changes, meta);
    table.invalidate();
    const after = ctx.limits.forTenant(id).limits;
    const diff: Record<string, { before: LimitValue; after: LimitValue }> = {};
    for (const name of LIMIT_NAMES)
      if (JSON.stringify(before[name]) !== JSON.stringify(after[name]))
        diff[name] = { before: before[name], after: after[name] };
    const entry = auditEntryOf(ctx, req, version, meta, { ...after });
    if (version)
      ctx.log.info(
        { actor: entry.actor, tenant: id, diff, version: version.version },
        'tenant limits changed',
      );
    if (!(await savedOrAnswered(ctx, reply, version))) return reply;
    return {
      version: ctx.limits.current().version,
      audit_id: entry.id,
      changed: diff,
      tenant: tenantJson(ctx, id, '5m'),
    };
  };

  app.put<{ Params: { id: string } }>(
    '/api/tenants/:id/limits',
    { config: { role: 'operator' } },
    async (req, reply) => {
      const id = req.params.id;
      checkTenantId(id);
      const { changes, reason } = parseLimitChanges(req.body);
      return limitsChanged(req, reply, id, changes, reason, 'tenant.limits.update');
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/tenants/:id/limits',
    { config: { role: 'operator' } },
    async (req, reply) => {
      const id = req.params.id;
      checkTenantId(id);
      const reason = readQueryReason(req.query);
      const changes = Object.fromEntries(LIMIT_NAMES.map((name) => [name, null]));
      return limitsChanged(req, reply, id, changes, reason, 'tenant.limits.delete');
    },
  );

  const enforcementChanged = async (
    req: FastifyRequest,
    reply: FastifyReply,
    id: string,
    next: Enforcement | undefined,
    reason: string | null,
    action: string,
  ) => {
    const meta = changeMeta(req, action, id, reason);
    const version = ctx.limits.setRuntimeEnforcement(id, next, meta);
    table.invalidate();
    const entry = auditEntryOf(ctx, req, version, meta, ctx.limits.forTenant(id).enforcement);
    if (!(await savedOrAnswered(ctx, reply, version))) return reply;
    return { version: ctx.limits.current().version, audit_id: entry.id, tenant: tenantJson(ctx, id, '5m') };
  };

  app.post<{ Params: { id: string } }>(
    '/api/tenants/:id/enforcement',
    { config: { role: 'operator' } },
    async (req, reply) => {
      const id = req.params.id;
      checkTenantId(id);
      const current = ctx.limits.forTenant(id).enforcement;
      const { next, reason } = parseEnforcementChange(req.body, current);
      return enforcementChanged(req, reply, id, next, reason, 'tenant.enforcement.update');
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/tenants/:id/enforcement',
    { config: { role: 'operator' } },
    async (req, reply) => {
      const id = req.params.id;
      checkTenantId(id);
      return enforcementChanged(
        req,
        reply,
        id,
        undefined,
        readQueryReason(req.query),
        'tenant.enforcement.delete',
      );
    },
  );
}
