// The edge's own mode switch during a rollout: nginx in full mode sends every write through the edge, and an
// operator turns the edge to dry-run, off and back to enforce at runtime (service-wide and per tenant) through
// the admin API. Asserts what senders, the upstream, /metrics and the admin API show at each step.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { stopAllProcesses } from '../helpers/child-process.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { requireNginx, startNginx } from '../helpers/nginx.js';
import type { NginxInstance } from '../helpers/nginx.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { snappyBody } from '../helpers/write-request.js';

const RW_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
};
/** Two series, over the default max_series_per_request of 1: denied when enforced. */
const OVER_LIMIT = snappyBody([
  { labels: { __name__: 'up', job: 'a' } },
  { labels: { __name__: 'up', job: 'b' } },
]);
const OPERATOR = { authorization: 'Bearer operator-token-0123456789' };
const VIEWER = { authorization: 'Bearer viewer-token-0123456789' };

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let nginx: NginxInstance | undefined;
const agent = new Agent();

async function write(
  tenant: string | undefined,
  via: 'nginx' | 'edge' = 'nginx',
  extra: Record<string, string> = {},
) {
  const base = via === 'nginx' ? nginx!.url : edge.proxyUrl;
  const headers: Record<string, string> = { ...RW_HEADERS, ...extra };
  if (tenant !== undefined) headers['x-scope-orgid'] = tenant;
  const res = await request(`${base}/api/v1/push`, {
    method: 'POST',
    headers,
    body: OVER_LIMIT,
    dispatcher: agent,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

async function admin(method: 'GET' | 'POST', path: string, body?: unknown, headers = OPERATOR) {
  const res = await request(`${edge.adminUrl}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: agent,
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumMetric(await scrapeMetrics(edge.metricsUrl), name, labels);
}

/** Runs `action` and returns how much each named metric grew meanwhile, and what reached the upstream. */
async function delta(action: () => Promise<unknown>) {
  const names = ['rls_decisions_total', 'rls_would_deny_total', 'rls_unchecked_requests_total'] as const;
  const before = await Promise.all(names.map((n) => metric(n)));
  upstream.requests.length = 0;
  await action();
  const after = await Promise.all(names.map((n) => metric(n)));
  return {
    decisions: after[0]! - before[0]!,
    wouldDeny: after[1]! - before[1]!,
    unchecked: after[2]! - before[2]!,
    upstream: upstream.requests.length,
  };
}

beforeAll(async () => {
  requireNginx();
  const dir = mkdtempSync(join(tmpdir(), 'edge-mode-'));
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(
    tokens,
    '- {name: oncall, token: operator-token-0123456789, role: operator}\n- {name: dashboards, token: viewer-token-0123456789, role: viewer}\n',
  );
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, { DEFAULT_MAX_SERIES_PER_REQUEST: '1', ADMIN_TOKENS_FILE: tokens });
  nginx = await startNginx({
    mode: 'full',
    mimirAddress: upstream.url.replace('http://', ''),
    edgeAddress: edge.proxyUrl.replace('http://', ''),
    upstreamKeepaliveTimeout: '2s',
  });
});

afterAll(async () => {
  await nginx?.stop();
  await edge?.stop();
  await upstream?.close();
  await agent.close();
  await stopAllProcesses();
});

describe('the edge mode switch behind nginx full mode', () => {
  it('starts in enforce: an over-limit write is denied and never reaches the upstream', async () => {
    expect((await admin('GET', '/api/system/mode')).json.mode).toBe('enforce');
    const d = await delta(async () => expect((await write('team-a')).status).toBe(400));
    expect(d).toEqual({ decisions: 1, wouldDeny: 0, unchecked: 0, upstream: 0 });
  });

  it('dry-run: the same write is forwarded, and counted as "would deny" in /metrics and the admin API', async () => {
    const switched = await admin('POST', '/api/system/mode', { mode: 'dry-run', reason: 'rollout step 2' });
    expect(switched.status).toBe(200);
    expect(switched.json.mode).toBe('dry-run');
    const before = (await admin('GET', '/api/system/mode')).json.would_deny as { since_start: number };

    const d = await delta(async () => expect((await write('team-a')).status).toBe(200));
    expect(d).toEqual({ decisions: 1, wouldDeny: 1, unchecked: 0, upstream: 1 });

    const state = await admin('GET', '/api/system/mode', undefined, VIEWER);
    const wouldDeny = state.json.would_deny as {
      since_start: number;
      last_5m_by_reason: Record<string, number>;
    };
    expect(wouldDeny.since_start).toBe(before.since_start + 1);
    expect(wouldDeny.last_5m_by_reason['max_series_per_request']).toBeGreaterThanOrEqual(1);
    expect((await admin('GET', '/api/system/status')).json.mode).toBe('dry-run');
    const tenant = await admin('GET', '/api/tenants/team-a');
    expect((tenant.json.enforcement as Record<string, unknown>)['mode']).toBe('dry-run');
    expect(await metric('rls_enforcement_mode', { mode: 'dry-run' })).toBe(1);
    expect(await metric('rls_enforcement_mode', { mode: 'enforce' })).toBe(0);
  });

  it('off: writes are forwarded unmeasured (even without a tenant); only rls_unchecked_requests_total counts them', async () => {
    expect((await admin('POST', '/api/system/mode', { mode: 'off' })).status).toBe(200);
    const d = await delta(async () => {
      expect((await write('team-a')).status).toBe(200);
      expect((await write(undefined)).status, 'no tenant: the upstream answers, not the edge').toBe(200);
    });
    expect(d).toEqual({ decisions: 0, wouldDeny: 0, unchecked: 2, upstream: 2 });
    // A mirror's shadow copy is still never forwarded.
    const shadow = await delta(async () =>
      expect((await write('team-a', 'edge', { 'x-edge-shadow': '1' })).status).toBe(204),
    );
    expect(shadow.upstream).toBe(0);
    expect((await admin('GET', '/api/system/mode')).json.unchecked_requests).toBeGreaterThanOrEqual(2);
  });

  it('back to enforce: denied again at once', async () => {
    expect((await admin('POST', '/api/system/mode', { mode: 'enforce' })).status).toBe(200);
    const d = await delta(async () => expect((await write('team-a')).status).toBe(400));
    expect(d).toEqual({ decisions: 1, wouldDeny: 0, unchecked: 0, upstream: 0 });
  });

  it('per tenant: one tenant off or in dry-run while the others are enforced, and back', async () => {
    expect((await admin('POST', '/api/tenants/team-x/mode', { mode: 'off' })).json.effective_mode).toBe(
      'off',
    );
    expect((await admin('POST', '/api/tenants/team-d/mode', { mode: 'dry_run' })).json.effective_mode).toBe(
      'dry-run',
    );
    const d = await delta(async () => {
      expect((await write('team-x')).status).toBe(200);
      expect((await write('team-d')).status).toBe(200);
      expect((await write('team-y')).status).toBe(400);
    });
    expect(d).toEqual({ decisions: 2, wouldDeny: 1, unchecked: 1, upstream: 2 });
    const state = await admin('GET', '/api/system/mode');
    expect(state.json.tenants).toEqual([
      { tenant: 'team-d', mode: 'dry-run' },
      { tenant: 'team-x', mode: 'off' },
    ]);

    await admin('POST', '/api/tenants/team-x/mode', { mode: null });
    await admin('POST', '/api/tenants/team-d/mode', { mode: null });
    expect((await write('team-x')).status).toBe(400);
    expect((await write('team-d')).status).toBe(400);
  });

  it('per tenant: a service in dry-run still enforces a tenant set to enforce; off wins over everything', async () => {
    await admin('POST', '/api/system/mode', { mode: 'dry-run' });
    await admin('POST', '/api/tenants/team-e/mode', { mode: 'enforce' });
    expect((await write('team-e')).status).toBe(400);
    expect((await write('team-f')).status).toBe(200);
    await admin('POST', '/api/system/mode', { mode: 'off' });
    expect((await write('team-e')).status, 'service off is the kill switch').toBe(200);
    await admin('POST', '/api/system/mode', { mode: 'enforce' });
    await admin('POST', '/api/tenants/team-e/mode', { mode: null });
  });

  it('refuses bad input and a viewer, changes nothing, and audits every switch with its actor', async () => {
    const bad = await admin('POST', '/api/system/mode', { mode: 'shadow' });
    expect(bad.status).toBe(400);
    expect(bad.json.path).toBe('mode');
    expect((await admin('POST', '/api/system/mode', { mode: 'enforce', extra: 1 })).status).toBe(400);
    expect((await admin('POST', '/api/system/mode', { mode: null })).status).toBe(400);
    expect((await admin('POST', '/api/system/mode', { mode: 'off' }, VIEWER)).status).toBe(403);
    expect((await admin('GET', '/api/system/mode')).json.mode).toBe('enforce');

    const audit = await admin('GET', '/api/audit?limit=100');
    const entries = audit.json.entries as {
      action: string;
      actor: string;
      after: { mode: string };
      reason: string | null;
    }[];
    const modeChanges = entries.filter((e) => e.action === 'system.mode.update');
    expect(modeChanges.length).toBeGreaterThanOrEqual(6);
    expect(modeChanges.every((e) => e.actor === 'oncall')).toBe(true);
    expect(modeChanges.some((e) => e.after.mode === 'dry-run' && e.reason === 'rollout step 2')).toBe(true);
    expect(entries.some((e) => e.action === 'tenant.mode.update')).toBe(true);
  });
});
