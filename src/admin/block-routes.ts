// The penalty blocks of POLICY_FILE (docs/policies.md#progressive-penalties): every block in force with
// its identity, policy, reason, level, start and end (viewer), and lifting one (operator), audited with
// its actor and reason. Without POLICY_FILE there are no blocks: the list is empty and says so.

import type { FastifyInstance } from 'fastify';
import type { AdminContext } from './context.js';
import { BadRequest, sendError } from './http-errors.js';
import { readReason } from './write-routes.js';

/** The optional body of a lift: `{reason?}`; nothing else. */
function parseLift(body: unknown): string | null {
  if (body === undefined || body === null || body === '') return null;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new BadRequest('body', 'must be a JSON object {"reason": "..."} or empty');
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields))
    if (key !== 'reason') throw new BadRequest(key, 'unknown field (expected reason)');
  return readReason(fields);
}

export function registerBlockRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/api/blocks', async () => {
    const blocks = ctx.blocks;
    if (blocks === undefined) return { penalties: false, blocks: [] };
    return { penalties: true, blocks: await blocks.list() };
  });

  app.delete<{ Params: { id: string } }>(
    '/api/blocks/:id',
    { config: { role: 'operator' } },
    async (req, reply) => {
      const id = req.params.id;
      if (!/^[A-Za-z0-9_-]{22}$/.test(id))
        throw new BadRequest('id', 'must be a block id as GET /api/blocks lists it (22 characters)');
      const reason = parseLift(req.body);
      let lifted;
      try {
        lifted = await ctx.blocks?.lift(id);
      } catch (err) {
        // Only the shared store can fail here: nothing was lifted, and saying so beats a bare 500.
        return sendError(
          reply,
          503,
          `the penalty store cannot be reached, nothing was lifted: ${(err as Error).message}`,
        );
      }
      if (lifted === undefined)
        return sendError(reply, 404, `no block in force has id ${id}; it may have ended or been lifted`);
      const entry = ctx.audit.append({
        time: new Date(ctx.now()).toISOString(),
        actor: req.principal!.name,
        role: req.principal!.role,
        action: 'policy.block.lift',
        tenant: lifted.scope === 'tenant' ? lifted.identity : null,
        before: lifted,
        after: null,
        reason,
        version: null,
      });
      ctx.log.warn(
        { actor: entry.actor, policy: lifted.policy, block_id: lifted.id, level: lifted.level, reason },
        `penalty block of policy "${lifted.policy}" lifted by ${entry.actor}`,
      );
      return { audit_id: entry.id, lifted };
    },
  );
}
