// What the admin side shows and logs about hostile or secret input, against the real service:
// - UPSTREAM_URL credentials (`http://user:secret@host`, a Mimir behind basic auth) appear in no admin answer a
//   viewer can read, in no /metrics line and in no log line, the start-up line included.
// - A label name holding a newline and a forged `level=error` (LOG_FORMAT=text) stays inside one log line.
// - The files under STATE_DIR (limits state, config history, audit log) are 0600, and STATE_DIR 0700 when the
//   edge creates it, also after an atomic rewrite (rename keeps the temporary file's mode).

import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { EMPTY_CONFIG } from '../../src/limits/limits-config.js';
import { HISTORY_FILE, STATE_FILE, StateDirectory } from '../../src/limits/state-file.js';
import { sleep } from '../helpers/child-process.js';
import { EDGE_ADMIN_TOKEN, startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const VIEWER = 'security-viewer-token-0123456789';
const SECRET = 'S3cret-Pa55word';
const USER = 'mimir-basic-user';

let upstream: RecordingUpstream;
const edges: EdgeUnderTest[] = [];

beforeAll(async () => {
  upstream = await startRecordingUpstream();
});
afterAll(async () => {
  for (const e of edges) await e.stop();
  await upstream?.close();
});

async function get(url: string, token?: string): Promise<{ status: number; text: string }> {
  const res = await request(url, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('UPSTREAM_URL credentials', () => {
  let edge: EdgeUnderTest;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-security-admin-'));
    const tokens = join(dir, 'tokens.yaml');
    writeFileSync(tokens, `- { name: vera, token: ${VIEWER}, role: viewer }\n`);
    const withCredentials = upstream.url.replace('http://', `http://${USER}:${SECRET}@`);
    edge = await startEdge(withCredentials, {
      ADMIN_TOKENS_FILE: tokens,
      LOG_LEVEL: 'info',
      UPSTREAM_HEALTH_PATH: '/ready',
      UPSTREAM_HEALTH_INTERVAL: '100ms',
      UPSTREAM_HEALTH_TIMEOUT: '100ms',
    });
    edges.push(edge);
    // Let the health probe run, so its view (probe URL, last answer) is filled in.
    await sleep(400);
  });

  it('are shown to nobody: every admin GET a viewer can read, with and without a probe answer', async () => {
    const routes = await get(`${edge.adminUrl}/api/debug/routes`, EDGE_ADMIN_TOKEN);
    const paths = (JSON.parse(routes.text) as { routes: { method: string; url: string }[] }).routes
      .filter((r) => r.method === 'GET' && r.url.startsWith('/api/') && r.url !== '/api/events')
      .map((r) =>
        r.url.replace(':id', 'team-a').replace(':n', '1').replace(':range', '1h').replace(':name', 'x'),
      );
    expect(paths).toContain('/api/system/status');
    const status = await get(`${edge.adminUrl}/api/system/status`, VIEWER);
    expect(status.status).toBe(200);
    const body = JSON.parse(status.text) as { upstream: string; upstream_health: { probe_url: string } };
    // Still says where writes go, without the credentials.
    expect(body.upstream).toBe(upstream.url.replace(/\/$/, ''));
    expect(body.upstream_health.probe_url).toBe(`${upstream.url.replace(/\/$/, '')}/ready`);
    for (const path of paths) {
      const res = await get(`${edge.adminUrl}${path}`, VIEWER);
      expect(res.text, `GET ${path}`).not.toContain(SECRET);
      expect(res.text, `GET ${path}`).not.toContain(`${USER}:`);
    }
  });

  it('are in no /metrics line and no log line, the start-up line included', async () => {
    expect(await pushRemoteWrite(edge.proxyUrl, 'team-a', snappyBody([{ labels: { __name__: 'up' } }]))).toBe(
      200,
    );
    const metrics = await get(edge.metricsUrl);
    expect(metrics.text).not.toContain(SECRET);
    const logs = edge.logs();
    expect(logs, 'the start-up line names the upstream').toMatch(
      /forwarding allowed writes to http:\/\/127\.0\.0\.1:/,
    );
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain(`${USER}:`);
  });
});

describe('LOG_FORMAT=text with hostile label names', () => {
  it('keeps a denial whose label name holds a newline and a forged level=error on one line', async () => {
    const edge = await startEdge(
      upstream.url,
      { LOG_LEVEL: 'info', LOG_DENIALS: 'all' },
      'overrides:\n  team-log:\n    max_label_name_length: 8\n',
    );
    edges.push(edge);
    const forged = 'x\n2026-01-01T00:00:00.000Z ERROR forged-line level=error tenant=admin';
    const body = snappyBody([{ labels: { __name__: 'up', [forged]: 'v' } }]);
    expect(await pushRemoteWrite(edge.proxyUrl, 'team-log', body)).toBe(400);
    const lines = edge.logs().split('\n');
    const hits = lines.filter((l) => l.includes('forged-line'));
    expect(hits, edge.logs()).toHaveLength(1);
    expect(hits[0]).toMatch(/^\S+ INFO .*tenant=team-log/);
    expect(lines.some((l) => l.startsWith('2026-01-01T00:00:00.000Z'))).toBe(false);
  });
});

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe('STATE_DIR files', () => {
  it('are created 0600 in a 0700 directory, and stay 0600 when rewritten', async () => {
    const stateDir = join(mkdtempSync(join(tmpdir(), 'edge-modes-')), 'state', 'nested');
    const edge = await startEdge(upstream.url, { STATE_DIR: stateDir });
    edges.push(edge);
    for (const n of [5, 6]) {
      const res = await request(`${edge.adminUrl}/api/tenants/team-m/limits`, {
        method: 'PUT',
        headers: { ...edge.adminHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ limits: { max_series_per_request: n }, reason: 'mode test' }),
      });
      expect(res.statusCode, await res.body.text()).toBe(200);
    }
    const audit = join(stateDir, 'audit.jsonl');
    for (let i = 0; i < 100 && !existsSync(audit); i++) await sleep(20);
    expect(mode(stateDir)).toBe('700');
    expect(mode(join(stateDir, '..'))).toBe('700');
    expect(mode(join(stateDir, STATE_FILE)), 'limits state (rewritten atomically twice)').toBe('600');
    expect(mode(join(stateDir, HISTORY_FILE)), 'config history (appended)').toBe('600');
    expect(mode(audit), 'audit log').toBe('600');
  });

  it('keeps the config history 0600 when compaction rewrites it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'edge-modes-compact-')), 'state');
    const state = new StateDirectory(dir, 1);
    const { history } = await state.load();
    const meta = { actor: 't', role: null, source: 'api', reason: null, action: 'x', tenant: null } as const;
    for (let i = 0; i < 4; i++) {
      history.record(meta, [], i);
      await state.save(history, EMPTY_CONFIG);
    }
    const text = readFileSync(join(dir, HISTORY_FILE), 'utf8');
    expect(text.split('\n')[0], 'the file was compacted (starts with its base)').toContain('"base"');
    expect(mode(join(dir, HISTORY_FILE))).toBe('600');
    expect(mode(join(dir, STATE_FILE))).toBe('600');
    expect(mode(dir)).toBe('700');
  });
});
