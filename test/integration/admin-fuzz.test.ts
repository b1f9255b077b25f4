// Every admin endpoint that changes state, found from the running server's own route table, is attacked
// with missing, wrong and too-low tokens and with fuzzed JSON (fast-check). Each answer must be the right
// status (401, 403, 4xx for bad input; never 5xx), and an answer that is not 2xx must change nothing.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { EDGE_ADMIN_TOKEN, startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';

const TOKENS = {
  viewer: 'fuzz-viewer-token-0123456789',
  operator: 'fuzz-operator-token-0123456789',
  admin: EDGE_ADMIN_TOKEN,
} as const;
type Role = keyof typeof TOKENS;
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

interface Route {
  method: string;
  url: string;
  role: string;
}

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let writeRoutes: Route[] = [];
let limitNames: string[] = [];

/** A concrete URL for a route pattern: a valid tenant for :id, version 1 for :n. */
function concrete(url: string): string {
  return url.replace(':id', 'fuzz-tenant').replace(':n', '1');
}

async function call(
  method: string,
  path: string,
  options: { token?: string; authorization?: string; body?: string; contentType?: string } = {},
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const res = await request(`${edge.adminUrl}${path}`, {
    method: method as 'POST',
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Everything an admin write can change, as the read endpoints show it. */
async function snapshot(): Promise<string> {
  const parts: string[] = [];
  for (const path of [
    '/api/limits',
    '/api/audit?limit=1000',
    '/api/system/mode',
    '/api/tenants/fuzz-tenant',
  ]) {
    const res = await call('GET', path, { token: TOKENS.admin });
    if (res.status === 404) continue;
    expect(res.status, `GET ${path}: ${res.text}`).toBe(200);
    const body = JSON.parse(res.text) as Record<string, unknown>;
    // Live traffic figures and clocks move on their own; limits, switches, modes and the audit log do not.
    if (path.startsWith('/api/tenants/'))
      parts.push(JSON.stringify([body.limits, body.enforcement, body.mode]));
    else if (path === '/api/system/mode') parts.push(JSON.stringify(body.mode ?? body.global ?? null));
    else parts.push(JSON.stringify(body));
  }
  return parts.join('\n');
}

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'edge-admin-fuzz-'));
  const tokensFile = join(dir, 'tokens.yaml');
  writeFileSync(
    tokensFile,
    `- {name: fuzz-viewer, token: ${TOKENS.viewer}, role: viewer}\n- {name: fuzz-operator, token: ${TOKENS.operator}, role: operator}\n`,
  );
  edge = await startEdge(upstream.url, { ADMIN_TOKENS_FILE: tokensFile });
  const routes = await call('GET', '/api/debug/routes', { token: TOKENS.admin });
  expect(routes.status).toBe(200);
  writeRoutes = (JSON.parse(routes.text) as { routes: Route[] }).routes.filter(
    (r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method) && r.url.startsWith('/api/'),
  );
  const limits = await call('GET', '/api/limits', { token: TOKENS.admin });
  limitNames = Object.keys((JSON.parse(limits.text) as { defaults: Record<string, number> }).defaults);
});
afterAll(async () => {
  await edge.stop();
  await upstream.close();
});

describe('admin write endpoints', () => {
  it('include at least the tenant limits and enforcement endpoints', () => {
    const names = writeRoutes.map((r) => `${r.method} ${r.url}`);
    expect(names).toContain('PUT /api/tenants/:id/limits');
    expect(names).toContain('POST /api/tenants/:id/enforcement');
  });

  it('answer 401 without a token or with a wrong one, and 403 to a role below theirs; nothing changes', async () => {
    const before = await snapshot();
    const body = JSON.stringify({ limits: { ingestion_rate: 5 }, enabled: false, mode: 'dry-run' });
    for (const route of writeRoutes) {
      const path = concrete(route.url);
      const what = `${route.method} ${route.url}`;
      for (const authorization of [
        undefined,
        'Bearer wrong-token-wrong-token',
        `Basic ${btoa('admin:x')}`,
        'Bearer',
      ]) {
        const res = await call(route.method, path, { body, ...(authorization ? { authorization } : {}) });
        expect(res.status, `${what} with authorization ${String(authorization)}: ${res.text}`).toBe(401);
      }
      for (const role of ['viewer', 'operator'] as const) {
        if (route.role === 'public' || RANK[role] >= RANK[route.role as Role]) continue;
        const res = await call(route.method, path, { token: TOKENS[role], body });
        expect(res.status, `${what} as ${role}: ${res.text}`).toBe(403);
      }
    }
    expect(await snapshot()).toBe(before);
  });

  // 25 bodies per endpoint, each followed by four reads: about 1,000 requests, so allow for a busy machine.
  it(
    'answer fuzzed JSON with 2xx or a 4xx naming the problem, never 5xx; a 4xx changes nothing',
    { timeout: 120_000 },
    async () => {
      const limitValue = fc.oneof(
        fc.integer({ min: -5, max: 1e9 }),
        fc.double(),
        fc.constantFrom(null, true, '100', 1e308, -0, Number.MAX_SAFE_INTEGER + 2),
        fc.string(),
      );
      const nearValid = fc.record(
        {
          limits: fc.oneof(
            fc.dictionary(fc.oneof(fc.constantFrom(...limitNames), fc.string()), limitValue, { maxKeys: 4 }),
            fc.dictionary(fc.constantFrom(...limitNames), fc.oneof(fc.boolean(), fc.constant(null)), {
              maxKeys: 4,
            }),
            fc.jsonValue(),
          ),
          enabled: fc.oneof(fc.boolean(), fc.jsonValue()),
          mode: fc.oneof(fc.constantFrom('enforce', 'dry-run', 'off', 'ENFORCE', ''), fc.jsonValue()),
          reason: fc.oneof(fc.string({ maxLength: 600 }), fc.jsonValue()),
          dry_run: fc.jsonValue(),
        },
        { requiredKeys: [] },
      );
      const body = fc.oneof(
        nearValid.map((v) => JSON.stringify(v)),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.constantFrom('{', '{"limits":', 'not json', '[]', '""', '{"limits":{"ingestion_rate":1e999}}'),
      );
      const failures: string[] = [];
      for (const route of writeRoutes) {
        const token = TOKENS[route.role === 'admin' ? 'admin' : 'operator'];
        const path = concrete(route.url);
        let before = await snapshot();
        await fc.assert(
          fc.asyncProperty(body, async (text) => {
            const res = await call(route.method, path, { token, body: text });
            const after = await snapshot();
            const where = `${route.method} ${path} with ${text.slice(0, 200)} → ${res.status} ${res.text.slice(0, 200)}`;
            if (res.status >= 500) failures.push(where);
            expect(res.status, where).toBeLessThan(500);
            if (res.status >= 400) {
              expect(JSON.parse(res.text), where).toHaveProperty('error');
              expect(after, `${where} changed the state`).toBe(before);
            }
            before = after;
          }),
          { numRuns: 25, seed: 4242 },
        );
      }
      expect(failures).toEqual([]);
    },
  );

  it('refuse a body over the admin size cap with 413 and change nothing', async () => {
    const before = await snapshot();
    const huge = JSON.stringify({ limits: { ingestion_rate: 5 }, reason: 'x'.repeat(100 * 1024) });
    const res = await call('PUT', '/api/tenants/fuzz-tenant/limits', { token: TOKENS.operator, body: huge });
    expect(res.status).toBe(413);
    expect(await snapshot()).toBe(before);
  });

  it('refuse hostile tenant ids in the path with 400 and change nothing', async () => {
    const before = await snapshot();
    for (const id of ['t%D0%B5am', 'a%7Cb', '..', 'a%00b', 'a%0Ab', '%20', 'x'.repeat(151)]) {
      const res = await call('PUT', `/api/tenants/${id}/limits`, {
        token: TOKENS.operator,
        body: JSON.stringify({ limits: { ingestion_rate: 5 } }),
      });
      // 400 from the tenant id check; 404/414 when the router refuses the path first. Never a change.
      expect([400, 404, 414], `tenant ${id}: ${res.text}`).toContain(res.status);
    }
    expect(await snapshot()).toBe(before);
  });
});
