// The admin API as an operator uses it, against the real service on real sockets: tokens and roles, live
// figures over a range after real remote-write traffic, changing a tenant's limit and seeing the proxy
// enforce it, the audit trail, bad input refused with nothing changed, OpenAPI, SSE and CORS.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const VIEWER = 'viewer-token-0123456789';
const OPERATOR = 'operator-token-0123456789';
const ADMIN = 'admin-token-0123456789ab';

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'admin-api-'));
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(
    tokens,
    [
      `- { name: vera, token: ${VIEWER}, role: viewer }`,
      `- { name: otto, token: ${OPERATOR}, role: operator }`,
      `- { name: ada, token: ${ADMIN}, role: admin }`,
    ].join('\n'),
  );
  upstream = await startRecordingUpstream();
  edge = await startEdge(
    upstream.url,
    { ADMIN_TOKEN: '', ADMIN_TOKENS_FILE: tokens, ADMIN_CORS_ORIGINS: 'https://grafana.example' },
    'overrides:\n  team-a:\n    ingestion_rate: 100000\n    ingestion_burst_size: 1000000\n',
  );
});

afterAll(async () => {
  await edge?.stop();
  await upstream?.close();
});

async function api(
  path: string,
  token: string | undefined,
  init: { method?: 'GET' | 'PUT' | 'POST'; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`${edge.adminUrl}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.body.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.statusCode, headers: res.headers, json };
}

const push = (tenant: string, series: number): Promise<number> =>
  pushRemoteWrite(edge.proxyUrl, tenant, snappyBody(manySeries(series, 4)));

describe('admin API access', () => {
  it('answers health and the OpenAPI document without a token, everything else needs one', async () => {
    expect((await api('/api/health', undefined)).status).toBe(200);
    const doc = await api('/api/openapi.json', undefined);
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toBe('3.1.0');
    const anonymous = await api('/api/tenants', undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toContain('Bearer');
    expect(String(anonymous.json.error)).toContain('Authorization: Bearer');
    expect((await api('/api/tenants', 'not-a-token-at-all-xxxxxxxx')).status).toBe(401);
    expect((await api('/api/tenants', VIEWER)).status).toBe(200);
  });

  it('says who the caller is', async () => {
    expect((await api('/api/whoami', OPERATOR)).json).toEqual({ name: 'otto', role: 'operator' });
  });

  it('answers the lists without a policy set: none (not a 404 the UI would log), and 404 for one list', async () => {
    expect(await api('/api/lists', VIEWER)).toMatchObject({
      status: 200,
      json: { policy_set: false, lists: [] },
    });
    const one = await api('/api/lists/bad-nets', VIEWER);
    expect(one.status).toBe(404);
    expect(String(one.json.error)).toContain('POLICY_FILE is not set');
  });

  it('describes every route it serves in /api/openapi.json', async () => {
    const doc = (await api('/api/openapi.json', undefined)).json as { paths: Record<string, unknown> };
    const routes = (await api('/api/debug/routes', VIEWER)).json as { routes: { url: string }[] };
    const served = new Set(
      routes.routes.filter((r) => r.url.startsWith('/api/')).map((r) => r.url.replace(/:([a-z]+)/g, '{$1}')),
    );
    expect(served.size).toBeGreaterThan(15);
    for (const path of served) expect(doc.paths, `OpenAPI lacks ${path}`).toHaveProperty([path]);
  });

  it('sends secure headers and no CORS header to an origin that is not allowed', async () => {
    const res = await api('/api/health', undefined, { headers: { origin: 'https://evil.example' } });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const allowed = await api('/api/health', undefined, { headers: { origin: 'https://grafana.example' } });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://grafana.example');
  });
});

describe('live figures after real traffic', () => {
  it('shows requests, samples, denials and top tenants over the chosen range', async () => {
    for (let i = 0; i < 5; i++) expect(await push('team-a', 20)).toBe(200);
    expect(await push('team-b', 10)).toBe(200);
    expect((await api('/api/overview?range=zz', VIEWER)).json).toMatchObject({ path: 'range' });

    const overview = (await api('/api/overview?range=5m', VIEWER)).json as {
      window: { requests: number; allowed: number; samples_per_second: number };
      top: { by_samples: { tenant: string }[] };
    };
    expect(overview.window.requests).toBeGreaterThanOrEqual(6);
    expect(overview.window.allowed).toBeGreaterThanOrEqual(6);
    expect(overview.window.samples_per_second).toBeGreaterThan(0);
    expect(overview.top.by_samples[0]?.tenant).toBe('team-a');

    const tenant = (await api('/api/tenants/team-a?range=1m', VIEWER)).json as {
      window: { requests: number; avg_series_per_request: number; max_label_names: number };
      limit_sources: Record<string, string>;
      utilisation: { ingestion_rate_pct: number };
    };
    expect(tenant.window.requests).toBe(5);
    expect(tenant.window.avg_series_per_request).toBe(20);
    expect(tenant.window.max_label_names).toBe(4);
    expect(tenant.limit_sources.ingestion_rate).toBe('overrides_file');
    expect(tenant.limit_sources.max_label_value_length).toBe('default');
    expect(tenant.utilisation.ingestion_rate_pct).toBeGreaterThan(0);

    const list = (await api('/api/tenants?sort=samples_per_second&q=team&range=5m', VIEWER)).json as {
      tenants: { id: string }[];
    };
    expect(list.tenants.map((t) => t.id)).toEqual(['team-a', 'team-b']);

    const series = (await api('/api/timeseries/1m/flow?tenant=team-a', VIEWER)).json as {
      points: { requests: number }[];
    };
    expect(series.points.reduce((n, p) => n + p.requests, 0)).toBe(5);

    const card = (await api('/api/cardinality?range=5m', VIEWER)).json as {
      tenants: { tenant: string; max_series_per_request: number }[];
    };
    expect(card.tenants[0]).toMatchObject({ tenant: 'team-a', max_series_per_request: 20 });

    const flow = (await api('/api/traffic/flow?range=5m', VIEWER)).json as { flow: { forwarded: number } };
    expect(flow.flow.forwarded).toBe(upstream.requests.length);
  });

  it('streams live updates as server-sent events', async () => {
    const controller = new AbortController();
    const res = await fetch(`${edge.adminUrl}/api/events?range=5m&interval=1`, {
      headers: { authorization: `Bearer ${VIEWER}` },
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n', text.indexOf('event: update'))) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const data = /event: update\ndata: (.*)\n\n/.exec(text)?.[1];
    const update = JSON.parse(data!) as {
      overview: { window: { requests: number } };
      flow: { points: unknown[] };
    };
    expect(update.overview.window.requests).toBeGreaterThan(0);
    expect(update.flow.points).toHaveLength(60);
  });
});

describe('changing limits', () => {
  it('lets an operator lower a limit, which the proxy enforces at once, and audits who did it', async () => {
    expect(await push('team-c', 50)).toBe(200);
    const changed = await api('/api/tenants/team-c/limits', OPERATOR, {
      method: 'PUT',
      body: { limits: { ingestion_rate: 1, ingestion_burst_size: 10 }, reason: 'noisy' },
    });
    expect(changed.status).toBe(200);
    expect(changed.json.changed).toMatchObject({ ingestion_burst_size: { before: 200000, after: 10 } });
    expect(await push('team-c', 50)).toBe(429);

    const tenant = (await api('/api/tenants/team-c?range=1m', VIEWER)).json as {
      limits: { ingestion_rate: number };
      limit_sources: Record<string, string>;
      window: { denied_by_reason: Record<string, number> };
    };
    expect(tenant.limits.ingestion_rate).toBe(1);
    expect(tenant.limit_sources.ingestion_rate).toBe('runtime');
    expect(tenant.window.denied_by_reason).toEqual({ ingestion_rate: 1 });

    const denials = (await api('/api/denials?tenant=team-c&range=5m', VIEWER)).json as {
      recent: { tenant: string; reason: string; status: number }[];
    };
    expect(denials.recent[0]).toMatchObject({ tenant: 'team-c', reason: 'ingestion_rate', status: 429 });

    const audit = (await api('/api/audit?tenant=team-c', VIEWER)).json as {
      entries: { actor: string; action: string; reason: string; after: { ingestion_rate: number } }[];
    };
    expect(audit.entries[0]).toMatchObject({
      actor: 'otto',
      action: 'tenant.limits.update',
      reason: 'noisy',
      after: { ingestion_rate: 1 },
    });

    // null resets a runtime value: the default applies again.
    await api('/api/tenants/team-c/limits', OPERATOR, {
      method: 'PUT',
      body: { limits: { ingestion_rate: null, ingestion_burst_size: null } },
    });
    expect(await push('team-c', 50)).toBe(200);
  });

  it('refuses a viewer with 403 and changes nothing', async () => {
    const before = (await api('/api/system/status', VIEWER)).json as { limits: { version: number } };
    const res = await api('/api/tenants/team-a/limits', VIEWER, {
      method: 'PUT',
      body: { limits: { ingestion_rate: 1 } },
    });
    expect(res.status).toBe(403);
    expect(String(res.json.error)).toContain('operator');
    const after = (await api('/api/system/status', VIEWER)).json as { limits: { version: number } };
    expect(after.limits.version).toBe(before.limits.version);
    expect(await push('team-a', 20)).toBe(200);
  });

  it('refuses bad input with 400 naming the path, and changes nothing', async () => {
    const version = async () =>
      ((await api('/api/system/status', VIEWER)).json as { limits: { version: number } }).limits.version;
    const v = await version();
    const cases: [unknown, string][] = [
      [{ limits: { ingestion_rate: -1 } }, 'limits.ingestion_rate'],
      [{ limits: { ingestion_burst_size: 1.5 } }, 'limits.ingestion_burst_size'],
      [{ limits: { ingestion_rate: '100' } }, 'limits.ingestion_rate'],
      [{ limits: { ingestion_rate: 5, no_such_limit: 1 } }, 'limits.no_such_limit'],
      [{ limits: {} }, 'limits'],
      [{ limit: { ingestion_rate: 5 } }, 'limit'],
      [[1, 2], 'body'],
    ];
    for (const [body, path] of cases) {
      const res = await api('/api/tenants/team-a/limits', OPERATOR, { method: 'PUT', body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.path).toBe(path);
    }
    const badJson = await request(`${edge.adminUrl}/api/tenants/team-a/limits`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: '{"limits":',
    });
    expect(badJson.statusCode).toBe(400);
    await badJson.body.dump();
    expect(
      (
        await api('/api/tenants/bad%2Ftenant/limits', OPERATOR, {
          method: 'PUT',
          body: { limits: { ingestion_rate: 1 } },
        })
      ).status,
    ).toBe(400);
    expect(await version()).toBe(v);
    const tenant = (await api('/api/tenants/team-a', VIEWER)).json as { limits: { ingestion_rate: number } };
    expect(tenant.limits.ingestion_rate).toBe(100000);
  });

  it('turns enforcement off for a tenant (observe only) and back on', async () => {
    await api('/api/tenants/team-d/limits', OPERATOR, {
      method: 'PUT',
      body: { limits: { max_series_per_request: 5 } },
    });
    expect(await push('team-d', 6)).toBe(400);
    const off = await api('/api/tenants/team-d/enforcement', OPERATOR, {
      method: 'POST',
      body: { limits: { max_series_per_request: false } },
    });
    expect(off.status).toBe(200);
    expect(await push('team-d', 6)).toBe(200);
    const tenant = (await api('/api/tenants/team-d?range=1m', VIEWER)).json as {
      enforcement: { limits: Record<string, boolean> };
      window: { would_deny_by_reason: Record<string, number> };
    };
    expect(tenant.enforcement.limits.max_series_per_request).toBe(false);
    expect(tenant.window.would_deny_by_reason).toEqual({ max_series_per_request: 1 });
    expect(
      (await api('/api/tenants/team-d/enforcement', OPERATOR, { method: 'POST', body: { enabled: 'no' } }))
        .json.path,
    ).toBe('enabled');
    await api('/api/tenants/team-d/enforcement', OPERATOR, {
      method: 'POST',
      body: { limits: { max_series_per_request: null } },
    });
    expect(await push('team-d', 6)).toBe(400);
  });

  it('keeps runtime limits when the overrides file reloads', async () => {
    await api('/api/tenants/team-a/limits', OPERATOR, {
      method: 'PUT',
      body: { limits: { max_series_per_request: 3 } },
    });
    edge.writeOverrides(
      'overrides:\n  team-a:\n    ingestion_rate: 200000\n    ingestion_burst_size: 1000000\n',
    );
    await edge.service.reloadOverrides();
    const tenant = (await api('/api/tenants/team-a', VIEWER)).json as {
      limits: { ingestion_rate: number; max_series_per_request: number };
    };
    expect(tenant.limits).toMatchObject({ ingestion_rate: 200000, max_series_per_request: 3 });
    expect(await push('team-a', 4)).toBe(400);
  });

  it('keeps state-changing debug endpoints off unless enabled, and admin-only', async () => {
    expect((await api('/api/debug/add-test-data', OPERATOR, { method: 'POST' })).status).toBe(403);
    const res = await api('/api/debug/add-test-data', ADMIN, { method: 'POST' });
    expect(res.status).toBe(403);
    expect(String(res.json.error)).toContain('ADMIN_DEBUG=true');
  });
});
