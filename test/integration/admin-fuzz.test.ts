// Every admin endpoint that changes state, found from the running server's own route table, is attacked
// with missing, wrong and too-low tokens and with fuzzed JSON (fast-check). Each answer must be the right
// status (401, 403, 4xx for bad input; never 5xx), and an answer that is not 2xx must change nothing.
// Every read endpoint gets hostile query strings (Object.prototype names, repeated and oversized
// parameters, encoded control characters), and the YAML import gets malformed documents: any 5xx fails.

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
let readRoutes: Route[] = [];
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
  const all = (JSON.parse(routes.text) as { routes: Route[] }).routes;
  writeRoutes = all.filter(
    (r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method) && r.url.startsWith('/api/'),
  );
  // The event stream never ends by itself; it gets its own bounded check below.
  readRoutes = all.filter((r) => r.method === 'GET' && r.url.startsWith('/api/') && r.url !== '/api/events');
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

  it('refuse JSON with prototype keys or bad syntax with a 400 naming the key or the body', async () => {
    const before = await snapshot();
    for (const [text, path] of [
      ['{"__proto__":{"limits":{"ingestion_rate":1}}}', '__proto__'],
      ['{"limits":{"ingestion_rate":5},"__proto__":{"x":1}}', '__proto__'],
      ['{"limits":{"__proto__":{"ingestion_rate":1}}}', '__proto__'],
      ['{"constructor":{"prototype":{"x":1}}}', 'constructor'],
      ['{"limits":', 'body'],
      ['', 'body'],
    ] as const) {
      const res = await call('PUT', '/api/tenants/fuzz-tenant/limits', {
        token: TOKENS.operator,
        body: text,
      });
      expect(res.status, `${text}: ${res.text}`).toBe(400);
      expect(JSON.parse(res.text), text).toMatchObject({ path });
    }
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

/** Query parameter names the admin API reads, and names that exist on every plain object. */
const QUERY_NAMES = [
  'range',
  'sort',
  'order',
  'limit',
  'top',
  'q',
  'tenant',
  'reason',
  'version',
  'dry_run',
  'interval',
  'tenants',
  'requests',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
];
const HOSTILE_VALUES = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
  '-1',
  '1e999',
  'NaN',
  '0x10',
  '%00',
  '%0A',
  '%E2%80%A8',
  '%FF',
  '%',
  '[]',
  '{}',
  'x'.repeat(5000),
];

async function getWithTimeout(path: string): Promise<{ status: number; text: string }> {
  const res = await request(`${edge.adminUrl}${path}`, {
    headers: { authorization: `Bearer ${TOKENS.admin}` },
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('admin read endpoints', () => {
  // About 1,400 requests (80 per endpoint), so allow for a busy machine.
  it(
    'answer hostile query values with 2xx or a 400 naming the parameter, never 5xx',
    { timeout: 120_000 },
    async () => {
      expect(readRoutes.map((r) => r.url)).toContain('/api/tenants');
      const query = fc.oneof(
        fc
          .tuple(fc.constantFrom(...QUERY_NAMES), fc.constantFrom(...HOSTILE_VALUES))
          .map(([name, value]) => `${name}=${value}`),
        fc
          .tuple(fc.constantFrom(...QUERY_NAMES), fc.constantFrom(...HOSTILE_VALUES))
          .map(([name, value]) => `${name}=${value}&${name}=1h`),
        fc
          .tuple(fc.constantFrom(...QUERY_NAMES), fc.string({ unit: 'binary', maxLength: 40 }))
          .map(([name, value]) => `${name}=${encodeURIComponent(value)}`),
      );
      const failures: string[] = [];
      for (const route of readRoutes) {
        const base = concrete(route.url).replace(':range', '1h').replace(':name', 'x').replace('*', 'x');
        await fc.assert(
          fc.asyncProperty(query, async (q) => {
            const path = `${base}?${q}`;
            const res = await getWithTimeout(path);
            const where = `GET ${path.slice(0, 200)} → ${res.status} ${res.text.slice(0, 200)}`;
            if (res.status >= 500) failures.push(where);
            else if (res.status === 400) {
              const body = JSON.parse(res.text) as { error?: string; path?: string };
              if (!body.error || !body.path) failures.push(`${where}: the parameter is not named`);
            }
          }),
          { numRuns: 80, seed: 1717 },
        );
      }
      expect(failures).toEqual([]);
    },
  );

  it('answer GET /api/tenants?sort=__proto__ with a 400 that names sort', async () => {
    for (const sort of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const res = await call('GET', `/api/tenants?sort=${sort}`, { token: TOKENS.viewer });
      expect(res.status, res.text).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ path: 'sort' });
    }
  });

  it('answer a hostile event-stream query with a 400 before streaming', async () => {
    for (const query of ['range=__proto__', 'interval=constructor', 'range=1h&range=5m', 'interval=0']) {
      const res = await getWithTimeout(`/api/events?${query}`);
      expect(res.status, `${query}: ${res.text}`).toBe(400);
    }
  });
});

describe('config import', () => {
  it(
    'answers malformed YAML with a 400 that names where, never 5xx; nothing changes',
    { timeout: 120_000 },
    async () => {
      const before = await snapshot();
      const yamlish = fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.constantFrom(
          '{',
          '[',
          'overrides: [',
          'overrides:\n  a: 1\n  a: 2\n',
          'overrides:\n  t:\n    ingestion_rate: [1, 2]\n',
          'overrides: !!binary aGVsbG8=\n',
          'overrides: &a [*a]\n',
          'a: &x 1\nb: *y\n',
          '? [a, b]\n: c\n',
          'runtime:\n  limits:\n    __proto__: {}\n',
          'runtime:\n  limits:\n    t: {__proto__: 5}\n',
          'runtime:\n  enforcement:\n    t: {enabled: yes, limits: {constructor: true}}\n',
          'overrides:\n  constructor:\n    toString: 1\n',
          '%YAML 9.9\n---\na: 1\n',
          '--- a\n--- b\n',
          '\t- x',
          'version: 1\nversion: 2\n',
          'overrides: {? a}\n',
          '!!js/function "() => 1"\n',
          'overrides:\n  t:\n    ingestion_rate: .nan\n',
          'overrides:\n  t:\n    ingestion_rate: 1e400\n',
        ),
        fc
          .dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 })
          .map((v) => JSON.stringify({ overrides: v })),
        fc
          .dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 })
          .map((v) => JSON.stringify({ runtime: { limits: v, enforcement: v } })),
      );
      const failures: string[] = [];
      await fc.assert(
        fc.asyncProperty(
          yamlish,
          fc.constantFrom('application/yaml', 'text/yaml', 'application/json'),
          async (text, type) => {
            const res = await call('POST', '/api/config/import?dry_run=true', {
              token: TOKENS.admin,
              body: text,
              contentType: type,
            });
            const where = `import (${type}) ${JSON.stringify(text.slice(0, 200))} → ${res.status} ${res.text.slice(0, 200)}`;
            if (res.status >= 500) failures.push(where);
            if (res.status >= 400) expect(JSON.parse(res.text), where).toHaveProperty('error');
          },
        ),
        { numRuns: 150, seed: 2222 },
      );
      for (const text of ['{', 'overrides: [', 'overrides:\n  a: 1\n  a: 2\n', '? [a, b]\n: c\n']) {
        const res = await call('POST', '/api/config/import', {
          token: TOKENS.admin,
          body: text,
          contentType: 'application/yaml',
        });
        if (res.status >= 500) failures.push(`import ${JSON.stringify(text)} → ${res.status} ${res.text}`);
        expect(res.status, `${text}: ${res.text}`).toBe(400);
      }
      expect(failures).toEqual([]);
      expect(await snapshot()).toBe(before);
    },
  );
});
