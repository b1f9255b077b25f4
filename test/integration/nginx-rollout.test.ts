// The rollout modes of deploy/nginx, each rendered from the one template and run by Debian's nginx in front
// of the edge (this process) and a recording upstream standing in for Mimir. Every write is one the edge
// denies (2 series, limit 1), so what a sender sees tells which path it took: 400 through the edge, 200 direct.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { examplePath, EXAMPLE_OPTIONS, MODES, renderNginxConfig } from '../../deploy/nginx/render.mjs';
import { readFileSync } from 'node:fs';
import { stopAllProcesses } from '../helpers/child-process.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { requireNginx, startNginx } from '../helpers/nginx.js';
import type { NginxInstance, NginxRouting } from '../helpers/nginx.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { snappyBody } from '../helpers/write-request.js';

const RW_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
};
/** Two series: over the edge's default max_series_per_request of 1, so the edge always denies it (400). */
const DENIED_BODY = snappyBody([
  { labels: { __name__: 'up', job: 'a' } },
  { labels: { __name__: 'up', job: 'b' } },
]);
/** One series: within every limit. */
const ALLOWED_BODY = snappyBody([{ labels: { __name__: 'up', job: 'a' } }]);

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let nginx: NginxInstance | undefined;
/** Replaced at every mode switch: connections kept from old nginx workers close under a reload (see nginx-reload). */
let agent = new Agent({ connections: 64 });

interface Sent {
  identity: string;
  status: number;
  route: string | undefined;
  mode: string | undefined;
  text: string;
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} did not start (see the beforeAll error)`);
  return value;
}

/** One remote write through nginx, as `tenant` (X-Scope-OrgID) or as a basic-auth user. */
async function write(identity: { tenant?: string; basicUser?: string }, body: Buffer): Promise<Sent> {
  const headers: Record<string, string> = { ...RW_HEADERS };
  if (identity.tenant !== undefined) headers['x-scope-orgid'] = identity.tenant;
  if (identity.basicUser !== undefined)
    headers['authorization'] = `Basic ${Buffer.from(`${identity.basicUser}:secret`).toString('base64')}`;
  const res = await request(`${must(nginx, 'nginx').url}/api/v1/push`, {
    method: 'POST',
    headers,
    body,
    dispatcher: agent,
  });
  const text = await res.body.text();
  const header = (name: string) => {
    const v = res.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  return {
    identity: identity.tenant ?? identity.basicUser ?? '',
    status: res.statusCode,
    route: header('x-edge-route'),
    mode: header('x-edge-mode'),
    text,
  };
}

/** Sends one write per tenant, `concurrency` at a time, in order of the list. */
async function writeAll(tenants: readonly string[], body: Buffer, concurrency = 32): Promise<Sent[]> {
  const out: Sent[] = new Array<Sent>(tenants.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < tenants.length; i = next++) out[i] = await write({ tenant: tenants[i]! }, body);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

/** Write decisions the edge has made so far (rls_decisions_total summed), optionally only denials. */
async function edgeDecisions(decision?: 'allow' | 'deny'): Promise<number> {
  const samples = await scrapeMetrics(edge.metricsUrl);
  return sumMetric(samples, 'rls_decisions_total', decision ? { decision } : {});
}

/** Polls until `read` returns `expected` (mirror copies finish after the client's answer); returns the last value. */
async function settle(read: () => Promise<number>, expected: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (value !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

function routing(mode: NginxRouting['mode'], extra: Partial<NginxRouting> = {}): NginxRouting {
  return {
    mode,
    mimirAddress: upstream.url.replace('http://', ''),
    edgeAddress: edge.proxyUrl.replace('http://', ''),
    upstreamKeepaliveTimeout: '2s',
    ...extra,
  };
}

/** Puts `r` in force and waits until nginx answers with its mode. */
async function switchTo(r: NginxRouting): Promise<void> {
  const n = must(nginx, 'nginx');
  await n.reload(r);
  await n.settled();
  await agent.close();
  agent = new Agent({ connections: 64 });
  const deadline = Date.now() + 10_000;
  for (;;) {
    // A read: answered by the upstream in every mode, so the probe never reaches the edge.
    const res = await request(`${n.url}/api/v1/status/buildinfo`, { dispatcher: agent });
    await res.body.dump();
    if (res.headers['x-edge-mode'] === r.mode) return;
    if (Date.now() > deadline)
      throw new Error(`nginx still runs the old config 10 s after reload\n${await n.errorLog()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Clears what the upstream received and notes the edge's decision count, then runs `phase`. */
async function observe<T>(phase: () => Promise<T>): Promise<{ result: T; decisionsBefore: number }> {
  upstream.requests.length = 0;
  const decisionsBefore = await edgeDecisions();
  const result = await phase();
  return { result, decisionsBefore };
}

function tally(sent: readonly Sent[]): { byStatus: Record<number, number>; byRoute: Record<string, number> } {
  const byStatus: Record<number, number> = {};
  const byRoute: Record<string, number> = {};
  for (const s of sent) {
    byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    byRoute[s.route ?? 'none'] = (byRoute[s.route ?? 'none'] ?? 0) + 1;
  }
  return { byStatus, byRoute };
}

beforeAll(async () => {
  requireNginx();
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {
    DEFAULT_MAX_SERIES_PER_REQUEST: '1',
    TENANT_FROM_BASIC_AUTH: 'true',
  });
  nginx = await startNginx(routing('direct'));
});

afterAll(async () => {
  await nginx?.stop();
  await edge?.stop();
  await upstream?.close();
  await agent.close();
  await stopAllProcesses();
});

describe('nginx rollout modes (deploy/nginx, Debian nginx)', () => {
  it('direct: every write reaches the upstream and no sender ever sees an edge denial', async () => {
    await switchTo(routing('direct'));
    const tenants = Array.from({ length: 200 }, (_, i) => `direct-${i % 20}`);
    const { result: sent, decisionsBefore } = await observe(() => writeAll(tenants, DENIED_BODY));
    const { byStatus, byRoute } = tally(sent);
    expect(byStatus, 'direct mode answered something other than the upstream 200').toEqual({ 200: 200 });
    expect(byRoute).toEqual({ direct: 200 });
    expect(upstream.requests.length, 'writes the upstream received').toBe(200);
    expect(
      upstream.requests.every((r) => r.body.equals(DENIED_BODY)),
      'bodies arrive unchanged',
    ).toBe(true);
    expect(await edgeDecisions(), 'the edge must not be asked in direct mode').toBe(decisionsBefore);
  });

  it('mirror: the upstream answers and gets every write once; the edge decides a copy of each', async () => {
    await switchTo(routing('mirror'));
    const tenants = Array.from({ length: 200 }, (_, i) => `mirror-${i % 20}`);
    const denialsBefore = await edgeDecisions('deny');
    const { result: sent, decisionsBefore } = await observe(() => writeAll(tenants, DENIED_BODY));
    const { byStatus } = tally(sent);
    expect(byStatus, 'a sender saw an edge denial in mirror mode').toEqual({ 200: 200 });
    // The edge sees 100%: a decision for every write, each the denial full mode would give.
    expect(await settle(edgeDecisions, decisionsBefore + 200)).toBe(decisionsBefore + 200);
    expect(await edgeDecisions('deny')).toBe(denialsBefore + 200);
    // The shadow copies are never forwarded: the upstream has each write exactly once.
    expect(upstream.requests.length, 'writes the upstream received (a shadow copy was forwarded?)').toBe(200);
    const tenantsUpstream = upstream.requests.map((r) => String(r.headers['x-scope-orgid'])).sort();
    expect(tenantsUpstream).toEqual([...tenants].sort());
    expect(upstream.requests.some((r) => r.headers['x-edge-shadow'] !== undefined)).toBe(false);
  });

  it('canary at 10% by tenant: 10% ± 2% of 2,000 writes go through the edge, the same tenants every time', async () => {
    await switchTo(routing('canary', { canaryPercent: 10 }));
    const tenants = Array.from({ length: 2000 }, (_, i) => `canary-${String(i).padStart(4, '0')}`);
    const { result: sent, decisionsBefore } = await observe(() => writeAll(tenants, DENIED_BODY));
    const { byStatus, byRoute } = tally(sent);
    const throughEdge = byStatus[400] ?? 0;
    const share = throughEdge / tenants.length;
    expect(
      share,
      `canary share ${(share * 100).toFixed(1)}% (${throughEdge} of 2000)`,
    ).toBeGreaterThanOrEqual(0.08);
    expect(share).toBeLessThanOrEqual(0.12);
    expect(byStatus[200], 'the rest is answered by the upstream').toBe(2000 - throughEdge);
    expect(byRoute['edge']).toBe(throughEdge);
    expect(
      sent.every((s) => (s.status === 400) === (s.route === 'edge')),
      'route header matches the answer',
    ).toBe(true);
    expect(
      sent
        .filter((s) => s.status === 400)
        .every((s) => s.text.includes('err-mimir-edge-max-series-per-request')),
    ).toBe(true);
    expect(upstream.requests.length).toBe(2000 - throughEdge);
    expect(await edgeDecisions()).toBe(decisionsBefore + throughEdge);

    // Stable: the same tenants take the same path again.
    const again = await writeAll(tenants.slice(0, 300), DENIED_BODY);
    expect(again.map((s) => s.route)).toEqual(sent.slice(0, 300).map((s) => s.route));
    console.log(
      `canary by tenant: ${throughEdge} of 2000 writes (${(share * 100).toFixed(2)}%) through the edge`,
    );
  });

  it("canary at 10% by $request_id: 10% ± 2% of one tenant's 2,000 writes go through the edge", async () => {
    await switchTo(routing('canary', { canaryPercent: 10, canaryKey: '$request_id' }));
    const tenants = Array.from({ length: 2000 }, () => 'one-busy-tenant');
    const { result: sent } = await observe(() => writeAll(tenants, DENIED_BODY));
    const throughEdge = tally(sent).byStatus[400] ?? 0;
    const share = throughEdge / 2000;
    expect(share, `canary share ${(share * 100).toFixed(1)}%`).toBeGreaterThanOrEqual(0.08);
    expect(share).toBeLessThanOrEqual(0.12);
    expect(upstream.requests.length).toBe(2000 - throughEdge);
    console.log(
      `canary by request: ${throughEdge} of 2000 writes (${(share * 100).toFixed(2)}%) through the edge`,
    );
  });

  it('selective: exactly the named tenants and basic-auth users go through the edge', async () => {
    await switchTo(routing('selective', { selected: ['team-a', 'alloy-user'] }));
    upstream.requests.length = 0;
    const writes = [
      ...Array.from({ length: 10 }, () => ({ tenant: 'team-a' })),
      ...Array.from({ length: 10 }, () => ({ basicUser: 'alloy-user' })),
      ...Array.from({ length: 10 }, () => ({ tenant: 'team-b' })),
      ...Array.from({ length: 10 }, () => ({ basicUser: 'other-user' })),
      // The tenant header wins over the basic-auth user, as it does in the edge.
      ...Array.from({ length: 10 }, () => ({ tenant: 'team-c', basicUser: 'alloy-user' })),
    ];
    const sent = await Promise.all(writes.map((w) => write(w, DENIED_BODY)));
    const routed = new Map<string, Set<string>>();
    for (const s of sent) {
      const key = `${s.identity}:${s.status}:${s.route}`;
      routed.set(s.identity, (routed.get(s.identity) ?? new Set()).add(key));
    }
    expect(Object.fromEntries([...routed].map(([k, v]) => [k, [...v]]))).toEqual({
      'team-a': ['team-a:400:edge'],
      'alloy-user': ['alloy-user:400:edge'],
      'team-b': ['team-b:200:direct'],
      'other-user': ['other-user:200:direct'],
      'team-c': ['team-c:200:direct'],
    });
    expect(upstream.requests.length).toBe(30);
  });

  it('full: every write goes through the edge; denied ones never reach the upstream, allowed ones do', async () => {
    await switchTo(routing('full'));
    const tenants = Array.from({ length: 200 }, (_, i) => `full-${i % 20}`);
    const { result: denied } = await observe(() => writeAll(tenants, DENIED_BODY));
    expect(tally(denied).byStatus).toEqual({ 400: 200 });
    expect(tally(denied).byRoute).toEqual({ edge: 200 });
    expect(upstream.requests.length, 'a denied write reached the upstream').toBe(0);

    const { result: allowed } = await observe(() => writeAll(tenants, ALLOWED_BODY));
    expect(tally(allowed).byStatus).toEqual({ 200: 200 });
    expect(upstream.requests.length).toBe(200);
    expect(upstream.requests.every((r) => r.body.equals(ALLOWED_BODY))).toBe(true);
  });

  it('reads and other paths always go straight to the upstream', async () => {
    await switchTo(routing('full'));
    upstream.requests.length = 0;
    const decisionsBefore = await edgeDecisions();
    const res = await request(`${must(nginx, 'nginx').url}/prometheus/api/v1/query?query=up`, {
      headers: { 'x-scope-orgid': 'team-a' },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(upstream.requests.map((r) => r.url)).toEqual(['/prometheus/api/v1/query?query=up']);
    expect(await edgeDecisions()).toBe(decisionsBefore);
  });
});

describe('deploy/nginx example files', () => {
  it('are the template rendered with the example values (re-run `node deploy/nginx/render.mjs --examples`)', () => {
    for (const mode of MODES) {
      expect(readFileSync(examplePath(mode), 'utf8'), `deploy/nginx/${mode}.conf is stale`).toBe(
        renderNginxConfig({ ...EXAMPLE_OPTIONS, mode }),
      );
    }
  });

  it('refuses values that would change the meaning of the config', () => {
    const base = { ...EXAMPLE_OPTIONS, mode: 'selective' as const };
    expect(() => renderNginxConfig({ ...base, selected: ['a"; } server { listen 1; #'] })).toThrow(
      /selected/,
    );
    expect(() => renderNginxConfig({ ...base, mimirAddress: 'x; include /etc/passwd' })).toThrow(
      /mimirAddress/,
    );
    expect(() => renderNginxConfig({ ...base, canaryPercent: 101 })).toThrow(/canaryPercent/);
    expect(() => renderNginxConfig({ ...base, canaryPercent: 10.125 })).toThrow(/decimals/);
  });
});
