// Adaptive protection of the upstream (docs/protection.md): read its state (viewer) and switch its mode at
// runtime (operator). A switch takes effect on the next write, is audited with its actor and logged; like
// /api/system/mode it is not part of the versioned limits, so a restart goes back to ADAPTIVE_PROTECTION.

import type { FastifyInstance } from 'fastify';
import type { UpstreamProtection } from '../decide/adaptive/upstream-protection.js';
import { PROTECTION_MODES, parseProtectionMode } from '../decide/adaptive/upstream-protection.js';
import { EDGE_PRIORITY_MAX } from '../limits/limit-definitions.js';
import type { AdminContext } from './context.js';
import { iso } from './tenant-views.js';
import { parseModeRequest } from './mode-routes.js';

/** What GET /api/protection shows. */
export function protectionJson(p: UpstreamProtection, nowMs: number) {
  const r = p.report(nowMs);
  const s = p.settings;
  const route = (w: { p99Ms: number; errorRatio: number; answers: number }) => ({
    p99_ms: Math.round(w.p99Ms * 100) / 100,
    error_ratio: w.errorRatio,
    answers: w.answers,
  });
  const priorities = [];
  for (let q = 0; q <= EDGE_PRIORITY_MAX; q++)
    priorities.push({
      priority: q,
      share: p.share(q),
      admitted_below: p.admittedBelow(q),
      shed: r.shed[q]!,
      would_shed: r.wouldShed[q]!,
    });
  return {
    mode: r.mode,
    mode_changed_at: iso(p.modeChangedAtMs),
    ceiling: r.ceiling,
    min_ceiling: r.minCeiling,
    max_ceiling: r.maxCeiling,
    inflight: r.inflight,
    latency_target_ms: s.latencyTargetMs,
    window_ms: s.windowMs,
    last_reason: r.lastReason,
    last_change_at: iso(p.controller.lastChangeMs),
    samples: {
      ceiling: r.samplesCeiling,
      per_second: Math.round(r.samplesRate),
      max: s.maxSamplesPerSecond,
    },
    routes: { write: route(r.routes.write!), other: route(r.routes.other!) },
    priorities,
    changes: Object.fromEntries(r.changes),
    applies_to:
      'writes through the proxy; ext_authz and the authz endpoint do not see the upstream and do not adapt',
  };
}

export function registerProtectionRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const protection = ctx.protection;
  if (!protection) return;

  app.get('/api/protection', async () => protectionJson(protection, ctx.now()));

  app.post('/api/protection', { config: { role: 'operator' } }, async (req) => {
    const { mode: next, reason } = parseModeRequest(req.body, PROTECTION_MODES, parseProtectionMode);
    const before = protection.mode;
    protection.setMode(next, ctx.now());
    const entry = ctx.audit.append({
      time: new Date(ctx.now()).toISOString(),
      actor: req.principal!.name,
      role: req.principal!.role,
      action: 'protection.mode.update',
      tenant: null,
      before: { mode: before },
      after: { mode: next },
      reason,
      version: null,
    });
    ctx.log.warn(
      { actor: entry.actor, before, after: next, reason },
      `adaptive protection ${before} → ${next}`,
    );
    return { audit_id: entry.id, ...protectionJson(protection, ctx.now()) };
  });
}
