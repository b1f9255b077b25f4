// Tenant ids that are also names on Object.prototype (`__proto__`, `constructor`, `hasOwnProperty` are valid
// Mimir tenant ids) keep their limits everywhere: set through the admin API, shown in the tenant views,
// enforced, exported and imported again, and kept across a restart with STATE_DIR. Any map keyed by input
// that is a plain object loses (`__proto__`) or confuses (`constructor`) them.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { parse } from 'yaml';
import { startKubernetesApi } from '../helpers/kubernetes-api.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { EDGE_ADMIN_TOKEN, startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const TENANTS = ['__proto__', 'constructor', 'hasOwnProperty', 'toString'] as const;
/** Each tenant's runtime max_series_per_request: distinct, so a mix-up shows. */
const RUNTIME = new Map<string, number>(TENANTS.map((t, i) => [t, 2 + i]));
/** Mimir's file layer also names them (max_label_names_per_series). */
const FILE_YAML = `overrides:\n${TENANTS.map((t, i) => `  ${t}:\n    max_label_names_per_series: ${20 + i}\n`).join('')}`;

let upstream: RecordingUpstream;
let stateDir: string;
const edges: EdgeUnderTest[] = [];

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  stateDir = join(mkdtempSync(join(tmpdir(), 'edge-proto-keys-')), 'state');
});
afterAll(async () => {
  for (const e of edges) await e.stop();
  await upstream?.close();
});

async function edgeWith(env: Record<string, string>): Promise<EdgeUnderTest> {
  const edge = await startEdge(upstream.url, env, FILE_YAML);
  edges.push(edge);
  return edge;
}

async function api(
  edge: EdgeUnderTest,
  method: 'GET' | 'PUT' | 'POST',
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<{ status: number; text: string }> {
  const res = await request(`${edge.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${EDGE_ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': contentType }),
    },
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

interface TenantView {
  limits: Record<string, number>;
  limit_sources?: Record<string, string>;
}

/** What the tenant view shows for each tenant: [max_series_per_request, max_label_names_per_series]. */
async function shown(edge: EdgeUnderTest): Promise<Record<string, [number, number]>> {
  const out: Record<string, [number, number]> = Object.create(null) as Record<string, [number, number]>;
  for (const t of TENANTS) {
    const res = await api(edge, 'GET', `/api/tenants/${t}`);
    expect(res.status, `GET /api/tenants/${t}: ${res.text}`).toBe(200);
    const view = JSON.parse(res.text) as TenantView;
    out[t] = [view.limits.max_series_per_request!, view.limits.max_label_names_per_series!];
  }
  return out;
}

/** The runtime limit and the file's limit, for each tenant. */
function expected(): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = Object.create(null) as Record<string, [number, number]>;
  TENANTS.forEach((t, i) => (out[t] = [RUNTIME.get(t)!, 20 + i]));
  return out;
}

describe('tenant ids named like Object.prototype members', () => {
  let exported = '';

  it('keep runtime limits set through the admin API: shown, enforced and exported', async () => {
    const edge = await edgeWith({ STATE_DIR: stateDir });
    for (const [t, n] of RUNTIME) {
      const res = await api(
        edge,
        'PUT',
        `/api/tenants/${t}/limits`,
        JSON.stringify({ limits: { max_series_per_request: n } }),
      );
      expect(res.status, `PUT ${t}: ${res.text}`).toBe(200);
    }
    expect(await shown(edge)).toEqual(expected());

    // Enforced: one series over each tenant's runtime limit is refused, at the limit it is not.
    for (const [t, n] of RUNTIME) {
      expect(await pushRemoteWrite(edge.proxyUrl, t, snappyBody(manySeries(n + 1, 2))), t).toBe(400);
      expect(await pushRemoteWrite(edge.proxyUrl, t, snappyBody(manySeries(n, 2))), t).toBe(200);
    }

    const list = await api(edge, 'GET', '/api/tenants');
    const ids = (JSON.parse(list.text) as { tenants: { id: string }[] }).tenants.map((r) => r.id);
    for (const t of TENANTS) expect(ids, `GET /api/tenants lists ${t}`).toContain(t);

    const res = await api(edge, 'GET', '/api/config/export');
    expect(res.status).toBe(200);
    exported = res.text;
    const doc = JSON.parse(JSON.stringify(parse(exported))) as {
      overrides: Record<string, Record<string, number>>;
      runtime: { limits: Record<string, Record<string, number>> };
    };
    for (const [t, n] of RUNTIME) {
      expect(Object.hasOwn(doc.runtime.limits, t), `export runtime.limits has ${t}`).toBe(true);
      expect(doc.runtime.limits[t]).toEqual({ max_series_per_request: n });
      expect(Object.hasOwn(doc.overrides, t), `export overrides has ${t}`).toBe(true);
    }
    await edge.stop();
    edges.splice(edges.indexOf(edge), 1);
  });

  it('keep them across a restart with STATE_DIR', async () => {
    const edge = await edgeWith({ STATE_DIR: stateDir });
    const views = await shown(edge);
    for (const [t, n] of RUNTIME) expect(views[t]![0], `${t} after restart`).toBe(n);
    for (const [t, n] of RUNTIME)
      expect(await pushRemoteWrite(edge.proxyUrl, t, snappyBody(manySeries(n + 1, 2))), t).toBe(400);
  });

  it('keep them through export → import into another edge', async () => {
    expect(exported).not.toBe('');
    const edge = await edgeWith({});
    const res = await api(edge, 'POST', '/api/config/import', exported, 'application/yaml');
    expect(res.status, res.text).toBe(200);
    const views = await shown(edge);
    for (const [t, n] of RUNTIME) expect(views[t]![0], `${t} after import`).toBe(n);
    const again = await api(edge, 'GET', '/api/config/export');
    const doc = JSON.parse(JSON.stringify(parse(again.text))) as {
      runtime: { limits: Record<string, Record<string, number>> };
    };
    for (const [t, n] of RUNTIME) expect(doc.runtime.limits[t]).toEqual({ max_series_per_request: n });
  });
});

describe('a ConfigMap key named like an Object.prototype member', () => {
  it('is read only from the ConfigMap’s own data: a missing `constructor` key is reported as missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-proto-configmap-'));
    const k8s = await startKubernetesApi(dir, 'mimir', 'mimir-runtime', {
      'overrides.yaml': 'overrides: {}\n',
    });
    const kubeconfig = process.env.KUBECONFIG;
    process.env.KUBECONFIG = k8s.kubeconfigPath;
    try {
      const edge = await startEdge(upstream.url, {
        OVERRIDES_FILE: '',
        OVERRIDES_CONFIGMAP: 'mimir/mimir-runtime',
        OVERRIDES_CONFIGMAP_KEY: 'constructor',
        OVERRIDES_RELOAD_INTERVAL: '1h',
      }).catch((err: Error) => err);
      if (edge instanceof Error) {
        expect(edge.message).toContain('has no key constructor');
        return;
      }
      edges.push(edge);
      const status = await api(edge, 'GET', '/api/system/status');
      expect(status.text).toContain('has no key constructor');
    } finally {
      if (kubeconfig === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = kubeconfig;
      await k8s.close();
    }
  });
});

describe('upstream response headers named like Object.prototype members', () => {
  it('reach the client as the upstream sent them', async () => {
    const edge = await edgeWith({});
    // JSON.parse makes `__proto__` an own key, so the upstream really sends a header of that name.
    upstream.respond.headers = JSON.parse('{"__proto__":"kept-proto","constructor":"kept-ctor"}') as Record<
      string,
      string
    >;
    try {
      const res = await request(`${edge.proxyUrl}/api/v1/query?query=up`);
      await res.body.dump();
      expect(res.statusCode).toBe(200);
      expect(res.headers['__proto__']).toBe('kept-proto');
      expect(res.headers['constructor']).toBe('kept-ctor');
    } finally {
      upstream.respond.headers = {};
    }
  });
});
