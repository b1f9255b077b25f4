// Limits as living configuration, as an operator meets it on the real admin API: every change from the file
// or the API is a numbered version with actor, source, reason and diff; rollback brings back exactly the
// behaviour of an earlier version; export/import round-trips with a dry run; bad imports change nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {}, 'overrides:\n  team-a:\n    max_series_per_request: 50\n');
});

afterAll(async () => {
  await edge?.stop();
  await upstream?.close();
});

type Json = Record<string, unknown>;

async function api(
  path: string,
  init: { method?: 'GET' | 'PUT' | 'POST' | 'DELETE'; body?: unknown; yaml?: string } = {},
): Promise<{ status: number; json: Json; text: string; type: string }> {
  const headers: Record<string, string> = { ...edge.adminHeaders };
  let body: string | undefined;
  if (init.yaml !== undefined) {
    headers['content-type'] = 'application/yaml';
    body = init.yaml;
  } else if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const res = await request(`${edge.adminUrl}${path}`, { method: init.method ?? 'GET', headers, body });
  const text = await res.body.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // YAML or empty
  }
  return { status: res.statusCode, json, text, type: String(res.headers['content-type']) };
}

const push = (tenant: string, series: number): Promise<number> =>
  pushRemoteWrite(edge.proxyUrl, tenant, snappyBody(manySeries(series, 1)));

interface VersionSummary {
  version: number;
  time: string;
  actor: string;
  source: string;
  reason: string | null;
}

async function versions(): Promise<{ versions: VersionSummary[]; current: number }> {
  return (await api('/api/config/versions')).json as unknown as {
    versions: VersionSummary[];
    current: number;
  };
}

describe('every change is a version', () => {
  it('numbers the file load and each API change, newest first, with actor, source, reason and diff', async () => {
    const start = await versions();
    expect(start.versions[0]).toMatchObject({ source: 'overrides_file', actor: 'overrides-file' });
    const put = await api('/api/tenants/team-b/limits', {
      method: 'PUT',
      body: { limits: { max_series_per_request: 3 }, reason: 'ticket 42' },
    });
    expect(put.status).toBe(200);
    const after = await versions();
    expect(after.current).toBe(start.current + 1);
    expect(after.versions[0]).toMatchObject({
      version: start.current + 1,
      source: 'api',
      reason: 'ticket 42',
    });
    expect(Date.parse(after.versions[0]!.time)).not.toBeNaN();

    const one = (await api(`/api/config/versions/${start.current + 1}`)).json;
    expect(one.diff).toEqual([
      { layer: 'runtime_limits', tenant: 'team-b', before: null, after: { max_series_per_request: 3 } },
    ]);
    expect(one.config).toMatchObject({
      overrides: { 'team-a': { max_series_per_request: 50 } },
      runtime: { limits: { 'team-b': { max_series_per_request: 3 } } },
    });

    const audit = (await api('/api/audit?tenant=team-b')).json as { entries: Json[] };
    expect(audit.entries[0]).toMatchObject({
      action: 'tenant.limits.update',
      source: 'api',
      version: start.current + 1,
      reason: 'ticket 42',
      diff: one.diff,
    });
  });

  it('records a file reload as a version with the file as its actor, and audits it', async () => {
    const before = (await versions()).current;
    edge.writeOverrides('overrides:\n  team-a:\n    max_series_per_request: 40\n');
    await edge.service.reloadOverrides();
    const now = await versions();
    expect(now.current).toBe(before + 1);
    expect(now.versions[0]).toMatchObject({ source: 'overrides_file', actor: 'overrides-file' });
    expect(now.versions[0]!.reason).toContain(edge.overridesFile);
    const audit = (await api('/api/audit?limit=1')).json as { entries: Json[] };
    expect(audit.entries[0]).toMatchObject({ role: 'system', source: 'overrides_file', version: before + 1 });
    // Re-reading the same content is not a change.
    await edge.service.reloadOverrides();
    expect((await versions()).current).toBe(before + 1);
  });

  it('answers 404 for a version that does not exist and 400 for one that is not a number', async () => {
    expect((await api('/api/config/versions/999999')).status).toBe(404);
    const bad = await api('/api/config/versions/abc');
    expect(bad.status).toBe(400);
    expect(bad.json.path).toBe('n');
  });
});

describe('rollback', () => {
  it('restores exactly the behaviour of version n, as a new version, and a dry run changes nothing', async () => {
    await api('/api/tenants/team-r/limits', {
      method: 'PUT',
      body: { limits: { max_series_per_request: 10 } },
    });
    const good = (await versions()).current;
    expect(await push('team-r', 8)).toBe(200);

    await api('/api/tenants/team-r/limits', {
      method: 'PUT',
      body: { limits: { max_series_per_request: 2 } },
    });
    await api('/api/tenants/team-r/enforcement', { method: 'POST', body: { enabled: true } });
    expect(await push('team-r', 8)).toBe(400);
    const bad = (await versions()).current;

    const dry = await api(`/api/config/rollback/${good}?dry_run=true`, { method: 'POST' });
    expect(dry.status).toBe(200);
    expect(dry.json.would_change).toEqual(
      expect.arrayContaining([
        {
          layer: 'runtime_limits',
          tenant: 'team-r',
          before: { max_series_per_request: 2 },
          after: { max_series_per_request: 10 },
        },
      ]),
    );
    expect((await versions()).current).toBe(bad);
    expect(await push('team-r', 8)).toBe(400);

    const rolled = await api(`/api/config/rollback/${good}`, {
      method: 'POST',
      body: { reason: 'bad change' },
    });
    expect(rolled.status).toBe(200);
    expect(rolled.json).toMatchObject({ version: bad + 1, rolled_back_to: good });
    expect(await push('team-r', 8)).toBe(200);
    const tenant = (await api('/api/tenants/team-r')).json as { limits: { max_series_per_request: number } };
    expect(tenant.limits.max_series_per_request).toBe(10);
    expect((await versions()).versions[0]).toMatchObject({
      version: bad + 1,
      source: 'rollback',
      reason: 'bad change',
    });

    // Rolling forward again is just another rollback.
    await api(`/api/config/rollback/${bad}`, { method: 'POST' });
    expect(await push('team-r', 8)).toBe(400);
  });

  it('refuses a version that is not retained with 404 and changes nothing', async () => {
    const v = (await versions()).current;
    const res = await api('/api/config/rollback/999999', { method: 'POST' });
    expect(res.status).toBe(404);
    expect(String(res.json.error)).toContain('999999');
    expect((await versions()).current).toBe(v);
  });

  it('DELETE removes a tenant’s runtime limits, so the overrides file applies again', async () => {
    await api('/api/tenants/team-a/limits', {
      method: 'PUT',
      body: { limits: { max_series_per_request: 1 } },
    });
    expect(await push('team-a', 2)).toBe(400);
    const del = await api('/api/tenants/team-a/limits?reason=cleanup', { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await push('team-a', 2)).toBe(200);
    const t = (await api('/api/tenants/team-a')).json as { limit_sources: Record<string, string> };
    expect(t.limit_sources.max_series_per_request).toBe('overrides_file');
    expect((await versions()).versions[0]).toMatchObject({ reason: 'cleanup', source: 'api' });
  });
});

describe('export and import', () => {
  it('exports YAML that imports back to the same configuration; a dry run reports what would change', async () => {
    const exported = await api('/api/config/export');
    expect(exported.status).toBe(200);
    expect(exported.type).toContain('application/yaml');
    expect(exported.text).toContain('overrides:');

    // Change something, then import the export: exactly that change is undone.
    await api('/api/tenants/team-x/limits', {
      method: 'PUT',
      body: { limits: { max_series_per_request: 7 } },
    });
    const v = (await versions()).current;
    const dry = await api('/api/config/import?dry_run=true', { method: 'POST', yaml: exported.text });
    expect(dry.status).toBe(200);
    expect(dry.json.would_change).toEqual([
      { layer: 'runtime_limits', tenant: 'team-x', before: { max_series_per_request: 7 }, after: null },
    ]);
    expect((await versions()).current).toBe(v);

    const imported = await api('/api/config/import?reason=restore', { method: 'POST', yaml: exported.text });
    expect(imported.status).toBe(200);
    expect(imported.json.version).toBe(v + 1);
    expect((await versions()).versions[0]).toMatchObject({ source: 'import', reason: 'restore' });
    expect((await api('/api/config/export')).text.split('\n').slice(4)).toEqual(
      exported.text.split('\n').slice(4),
    );
  });

  it('refuses invalid input whole, naming the path, and changes nothing', async () => {
    const v = (await versions()).current;
    // Each document starts with a valid change (team-z) that must not be applied either.
    const valid = 'runtime:\n  limits:\n    team-z: {max_series_per_request: 1}\n';
    const cases: [string, string][] = [
      [`${valid}    team-y: {ingestion_rate: -1}\n`, 'runtime.limits.team-y.ingestion_rate'],
      [`${valid}    team-y: {no_such_limit: 1}\n`, 'runtime.limits.team-y.no_such_limit'],
      [`${valid}overrides:\n  team-y:\n    ingestion_rate: "100"\n`, 'overrides.team-y.ingestion_rate'],
      [`${valid}  enforcement:\n    team-y: {enabled: maybe}\n`, 'runtime.enforcement.team-y.enabled'],
      [`${valid}surprise: 1\n`, 'surprise'],
      [`${valid}overrides: [\n`, 'line 5, column 1'],
    ];
    for (const [yaml, path] of cases) {
      const res = await api('/api/config/import', { method: 'POST', yaml });
      expect(res.status, yaml).toBe(400);
      expect(res.json.path, yaml).toBe(path);
    }
    expect((await versions()).current).toBe(v);
    expect(await push('team-z', 2)).toBe(200);
  });
});
