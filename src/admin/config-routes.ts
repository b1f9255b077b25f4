// The configuration's life as a whole: its numbered versions with their diffs, rollback to a retained version,
// and export/import of the whole configuration as YAML with a dry run. Changes go through the registry's one
// commit path (audited, saved); bad input is refused whole with a path-named 400 and changes nothing.

import type { FastifyInstance } from 'fastify';
import { ConfigError } from '../lib/config-error.js';
import { mergePartial, parseConfigText, toDocument, toYaml } from '../limits/config-document.js';
import type { ConfigVersion } from '../limits/config-history.js';
import { diffConfigs } from '../limits/limits-config.js';
import type { AdminContext } from './context.js';
import { BadRequest, parseCount, sendError } from './http-errors.js';
import type { TenantTable } from './tenant-views.js';
import { changeMeta, readReason, savedOrAnswered } from './write-routes.js';
import { isMapping } from '../lib/is-mapping.js';

type Query = Record<string, string | undefined>;
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

function versionSummary(v: ConfigVersion) {
  return {
    version: v.version,
    time: new Date(v.timeMs).toISOString(),
    actor: v.actor,
    source: v.source,
    reason: v.reason,
    action: v.action,
    tenant: v.tenant,
    changes: v.changes.length,
  };
}

function parseVersion(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    throw new BadRequest('n', `must be a version number, got ${JSON.stringify(text)}`);
  return n;
}

function parseDryRun(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true' || value === '1') return true;
  throw new BadRequest('dry_run', `must be true or false, got ${JSON.stringify(value)}`);
}

/** A ConfigError from reading an import becomes a 400 naming the path inside the document. */
function asBadRequest(err: unknown): never {
  if (err instanceof ConfigError) throw new BadRequest(err.path || 'body', err.message);
  throw err;
}

export function registerConfigRoutes(app: FastifyInstance, ctx: AdminContext, table: TenantTable): void {
  // Imports arrive as YAML text; JSON bodies keep fastify's own parser.
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const notRetained = (n: number) => {
    const oldest = ctx.limits.history.oldest;
    return oldest === undefined
      ? `version ${n} does not exist: no change has been made yet`
      : `version ${n} is not retained (versions ${oldest} to ${ctx.limits.history.latest} are)`;
  };

  app.get<{ Querystring: Query }>('/api/config/versions', async (req) => {
    const limit = parseCount(req.query.limit, 'limit', 100, 1000);
    const history = ctx.limits.history;
    return {
      versions: history.list(limit).map(versionSummary),
      current: ctx.limits.current().version,
      oldest: history.oldest ?? null,
    };
  });

  app.get<{ Params: { n: string } }>('/api/config/versions/:n', async (req, reply) => {
    const n = parseVersion(req.params.n);
    const v = ctx.limits.history.get(n);
    const config = ctx.limits.history.configAt(n);
    if (!v || !config) return sendError(reply, 404, notRetained(n));
    return {
      ...versionSummary(v),
      role: v.role,
      diff: v.changes,
      config: toDocument(config, n),
    };
  });

  app.post<{ Params: { n: string }; Querystring: Query }>(
    '/api/config/rollback/:n',
    { config: { role: 'operator' } },
    async (req, reply) => {
      const n = parseVersion(req.params.n);
      const body: unknown = req.body ?? {};
      if (!isMapping(body)) throw new BadRequest('body', 'must be a JSON object {"reason": "..."} or empty');
      for (const key of Object.keys(body))
        if (key !== 'reason' && key !== 'dry_run')
          throw new BadRequest(key, 'unknown field (expected reason, dry_run)');
      const reason = readReason(body);
      const dryRun = body.dry_run === true || parseDryRun(req.query.dry_run);
      const target = ctx.limits.history.configAt(n);
      if (!target || !ctx.limits.history.get(n)) return sendError(reply, 404, notRetained(n));
      if (dryRun) {
        return {
          dry_run: true,
          version: ctx.limits.current().version,
          would_change: diffConfigs(ctx.limits.config(), target),
        };
      }
      const version = ctx.limits.rollback(
        n,
        changeMeta(req, 'config.rollback', null, reason ?? `rollback to version ${n}`, 'rollback'),
      );
      table.invalidate();
      if (!(await savedOrAnswered(ctx, reply, version))) return reply;
      return {
        version: ctx.limits.current().version,
        rolled_back_to: n,
        changed: version?.changes ?? [],
      };
    },
  );

  app.get<{ Querystring: Query }>('/api/config/export', async (req, reply) => {
    const history = ctx.limits.history;
    const n =
      req.query.version === undefined ? ctx.limits.current().version : parseVersion(req.query.version);
    const config = n === ctx.limits.current().version ? ctx.limits.config() : history.configAt(n);
    if (!config) return sendError(reply, 404, notRetained(n));
    const header = [
      `Limits configuration exported from mimir-edge-enforcement ${ctx.version}, config version ${n}.`,
      '`overrides:` is Mimir runtime-overrides format; `runtime:` holds the admin API changes.',
      'POST it to /api/config/import (?dry_run=true first) to restore it.',
    ].join('\n');
    return reply
      .type('application/yaml; charset=utf-8')
      .header('content-disposition', `attachment; filename="limits-v${n}.yaml"`)
      .send(toYaml(config, n, header));
  });

  app.post<{ Querystring: Query }>(
    '/api/config/import',
    { config: { role: 'admin' } },
    async (req, reply) => {
      const dryRun = parseDryRun(req.query.dry_run);
      const reason = readReason({ reason: req.query.reason });
      let partial;
      try {
        if (typeof req.body === 'string') partial = parseConfigText(req.body, 'import');
        else if (isMapping(req.body)) partial = parseConfigText(JSON.stringify(req.body), 'import');
        else
          throw new BadRequest(
            'body',
            'send the YAML of GET /api/config/export (Content-Type: application/yaml)',
          );
      } catch (err) {
        asBadRequest(err);
      }
      const next = mergePartial(ctx.limits.config(), partial);
      const changes = diffConfigs(ctx.limits.config(), next);
      if (dryRun) return { dry_run: true, version: ctx.limits.current().version, would_change: changes };
      const version = ctx.limits.commit(next, changeMeta(req, 'config.import', null, reason, 'import'));
      table.invalidate();
      if (!(await savedOrAnswered(ctx, reply, version))) return reply;
      return { version: ctx.limits.current().version, changed: version?.changes ?? [] };
    },
  );
}
