// The policy set's named lists over the admin API: read them (viewer), add and remove entries at runtime
// (operator). A change is checked whole first (an unknown list is 404, any bad entry 400 naming it, and
// nothing changes), applied in one swap, given the list's next version and written to the audit log with
// who, why and exactly which entries changed. With Redis (`shared`) the change is written there first and
// reaches every replica; the version is then the list's shared version, equal on every replica.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ListStore } from '../lib/lists/list-store.js';
import { ListChangeError } from '../lib/lists/list-store.js';
import type { AdminContext } from './context.js';
import { BadRequest, parseCount, sendError } from './http-errors.js';
import { readReason } from './write-routes.js';

/** What the admin API needs of the lists: the store, the files' state, and a hook for metrics. */
export interface ListsAdmin {
  store: ListStore;
  fileStatus: () => {
    list: string;
    file: string;
    lastError: { timeMs: number; message: string } | undefined;
  }[];
  /** After each runtime change that changed entries. */
  changed?: (list: string, operation: 'add' | 'remove', count: number) => void;
  /** Saves the runtime changes (STATE_DIR); resolves once they are on disk. Absent: kept in memory only. */
  persist?: () => Promise<void>;
  /** Changes shared by every replica through Redis; absent: this replica alone. */
  shared?: SharedListChanges;
}

/** What the admin API needs of list sharing (src/decide/list-sync.ts). */
export interface SharedListChanges {
  /** Rejects with ListChangeError (400/404) or an error with status 503: nothing changed anywhere. */
  change(
    name: string,
    operation: 'add' | 'remove',
    entries: readonly string[],
  ): Promise<{ changed: string[]; version: number }>;
  /** The list's shared version held here (0: none yet). */
  sharedVersion(name: string): number | undefined;
}

function isUnavailable(err: unknown): err is Error & { status: 503 } {
  return err instanceof Error && (err as { status?: unknown }).status === 503;
}

/** Most entries one request may add or remove. */
export const MAX_ENTRIES_PER_CHANGE = 10_000;
const MAX_PAGE = 10_000;

function parseEntries(body: unknown): { entries: string[]; reason: string | null } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadRequest('body', 'must be a JSON object {"entries": ["192.0.2.0/24", ...], "reason": "..."}');
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record))
    if (key !== 'entries' && key !== 'reason')
      throw new BadRequest(key, 'unknown field (expected entries, reason)');
  const entries = record['entries'];
  if (
    !Array.isArray(entries) ||
    entries.length === 0 ||
    entries.length > MAX_ENTRIES_PER_CHANGE ||
    !entries.every((e) => typeof e === 'string')
  )
    throw new BadRequest('entries', `must be a list of 1 to ${MAX_ENTRIES_PER_CHANGE} strings`);
  return { entries: entries as string[], reason: readReason(record) };
}

function parseOffset(value: unknown): number {
  if (value === undefined || value === '') return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new BadRequest('offset', `must be a whole number from 0, got ${JSON.stringify(value)}`);
  return n;
}

function listJson(lists: ListsAdmin, name: string) {
  const info = lists.store.info(name)!;
  const file = lists.fileStatus().find((f) => f.list === name);
  return {
    ...info,
    action: info.action ?? null,
    class: info.class ?? null,
    file: info.file ?? null,
    shared_version: lists.shared?.sharedVersion(name) ?? null,
    file_error:
      file?.lastError === undefined
        ? null
        : { time: new Date(file.lastError.timeMs).toISOString(), message: file.lastError.message },
  };
}

export function registerListRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const noLists = (reply: FastifyReply): FastifyReply =>
    sendError(reply, 404, 'no policy set is loaded (POLICY_FILE is not set), so there are no lists');

  // Without a policy set the collection is simply empty (as GET /api/blocks says `penalties: false`), so a
  // page that shows it gets an answer, not a 404 its browser logs as an error.
  app.get('/api/lists', async () => {
    const lists = ctx.lists;
    if (lists === undefined) return { policy_set: false, lists: [] };
    return { policy_set: true, lists: lists.store.infos().map((l) => listJson(lists, l.name)) };
  });

  app.get<{ Params: { name: string }; Querystring: { offset?: string; limit?: string } }>(
    '/api/lists/:name',
    async (req, reply) => {
      const lists = ctx.lists;
      if (lists === undefined) return noLists(reply);
      const { name } = req.params;
      const entries = lists.store.entries(name);
      if (entries === undefined) return sendError(reply, 404, `no list is named ${JSON.stringify(name)}`);
      const offset = parseOffset(req.query.offset);
      const limit = parseCount(req.query.limit, 'limit', 1000, MAX_PAGE);
      return {
        ...listJson(lists, name),
        offset,
        limit,
        entries: entries.slice(offset, offset + limit),
      };
    },
  );

  const change =
    (operation: 'add' | 'remove') =>
    async (req: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
      const lists = ctx.lists;
      if (lists === undefined) return noLists(reply);
      const { name } = req.params;
      const { entries, reason } = parseEntries(req.body);
      const sizeBefore = lists.store.info(name)?.size;
      let result: { changed: string[]; version: number };
      try {
        if (lists.shared !== undefined) result = await lists.shared.change(name, operation, entries);
        else
          result = operation === 'add' ? lists.store.add(name, entries) : lists.store.remove(name, entries);
      } catch (err) {
        if (err instanceof ListChangeError)
          return sendError(reply, err.status, err.message, err.status === 400 ? 'entries' : undefined);
        if (isUnavailable(err)) return sendError(reply.header('retry-after', '5'), 503, err.message);
        throw err;
      }
      const sizeAfter = lists.store.info(name)!.size;
      const entry = ctx.audit.append({
        time: new Date(ctx.now()).toISOString(),
        actor: req.principal!.name,
        role: req.principal!.role,
        action: `list.entries.${operation}`,
        tenant: null,
        before: { list: name, size: sizeBefore },
        after: { list: name, size: sizeAfter },
        reason,
        version: null,
        source: 'api',
        diff: { list: name, [operation === 'add' ? 'added' : 'removed']: result.changed },
        source_version: result.version,
      });
      if (result.changed.length > 0) {
        lists.changed?.(name, operation, result.changed.length);
        try {
          await lists.persist?.();
        } catch (err) {
          ctx.log.error({ list: name, err: (err as Error).message }, 'list change not saved');
          return sendError(
            reply,
            500,
            `list ${name} version ${result.version} is in force but could not be saved to STATE_DIR, so a restart would lose it: ${(err as Error).message}`,
          );
        }
        ctx.log.warn(
          {
            actor: entry.actor,
            list: name,
            operation,
            entries: result.changed.length,
            version: result.version,
            reason,
          },
          `list ${name}: ${operation === 'add' ? 'added' : 'removed'} ${result.changed.length} entries (version ${result.version})`,
        );
      }
      return {
        list: name,
        version: result.version,
        [operation === 'add' ? 'added' : 'removed']: result.changed,
        size: sizeAfter,
        audit_id: entry.id,
      };
    };

  app.post<{ Params: { name: string } }>(
    '/api/lists/:name/entries',
    { config: { role: 'operator' } },
    change('add'),
  );
  app.delete<{ Params: { name: string } }>(
    '/api/lists/:name/entries',
    { config: { role: 'operator' } },
    change('remove'),
  );
}
