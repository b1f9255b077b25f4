// The figures the admin console is built on, against the real service on real sockets: a tenant throttled
// far below what it sends shows its accepted samples/s apart from the rejected ones, its denials come back
// as one group with a count, the chart's still-filling bucket is marked, and /favicon.ico needs no token.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const TOKEN = 'console-token-0123456789';

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
const statuses: Record<string, number[]> = { throttled: [], free: [] };

async function get<T>(path: string): Promise<T> {
  const res = await request(`${edge.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.statusCode, path).toBe(200);
  return (await res.body.json()) as T;
}

interface WindowFigures {
  samples_per_second: number;
  accepted_samples_per_second: number;
  rejected_samples_per_second: number;
  denied: number;
}

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(
    upstream.url,
    { ADMIN_TOKEN: TOKEN },
    'overrides:\n  throttled:\n    ingestion_rate: 50\n    ingestion_burst_size: 100\n',
  );
  // 40 requests of 100 samples each per tenant: "throttled" can take one burst of 100, then is denied.
  const body = snappyBody(manySeries(100, 4));
  for (let i = 0; i < 40; i++) {
    statuses.throttled!.push(await pushRemoteWrite(edge.proxyUrl, 'throttled', body));
    statuses.free!.push(await pushRemoteWrite(edge.proxyUrl, 'free', body));
  }
});

afterAll(async () => {
  await edge?.stop();
  await upstream?.close();
});

describe('admin console figures', () => {
  it('counts accepted and rejected samples apart, so a throttled tenant does not top "samples/s"', async () => {
    const accepted = statuses.throttled!.filter((s) => s === 200).length;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(5);
    const t = await get<{ window: WindowFigures; utilisation: { ingestion_rate_accepted_pct: number } }>(
      '/api/tenants/throttled?range=5m',
    );
    const w = t.window;
    expect(w.rejected_samples_per_second).toBeGreaterThan(10 * w.accepted_samples_per_second);
    expect(w.accepted_samples_per_second + w.rejected_samples_per_second).toBeCloseTo(
      w.samples_per_second,
      1,
    );
    const overview = await get<{
      top: { by_samples: { tenant: string }[]; by_accepted_samples: { tenant: string; value: number }[] };
    }>('/api/overview?range=5m');
    expect(overview.top.by_accepted_samples[0]!.tenant).toBe('free');
    const sorted = await get<{ tenants: { id: string }[] }>(
      '/api/tenants?range=5m&sort=accepted_samples_per_second',
    );
    expect(sorted.tenants[0]!.id).toBe('free');
  });

  it('groups the throttled tenant’s denials into one line with the count, first and last seen', async () => {
    const denied = statuses.throttled!.filter((s) => s !== 200).length;
    const g = await get<{
      groups: {
        tenant: string;
        reason: string;
        count: number;
        first_seen: string;
        last_seen: string;
        last_message: string;
      }[];
    }>('/api/denials/groups?range=1h');
    expect(g.groups).toHaveLength(1);
    const [group] = g.groups;
    expect(group).toMatchObject({ tenant: 'throttled', reason: 'ingestion_rate', count: denied });
    expect(Date.parse(group!.first_seen)).toBeLessThanOrEqual(Date.parse(group!.last_seen));
    expect(group!.last_message).toContain('ingestion rate limit');
    const none = await get<{ groups: unknown[] }>('/api/denials/groups?range=1h&tenant=free');
    expect(none.groups).toHaveLength(0);
  });

  it('refuses bad query parameters of /api/denials/groups with 400 naming the parameter', async () => {
    for (const [query, path] of [
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=abc', 'limit'],
      ['range=2y', 'range'],
      ['tenant=' + encodeURIComponent('bad tenant\u0000'), 'id'],
    ] as const) {
      const res = await request(`${edge.adminUrl}/api/denials/groups?${query}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const body = (await res.body.json()) as { path?: string };
      expect(res.statusCode, query).toBe(400);
      expect(body.path, query).toBe(path);
    }
  });

  it('marks the still-filling bucket of a chart, and only that one', async () => {
    const flow = await get<{
      since: string;
      points: {
        partial: boolean;
        accepted_samples_per_second: number;
        rejected_samples_per_second: number;
      }[];
    }>('/api/timeseries/1m/flow?tenant=throttled');
    expect(flow.points.at(-1)!.partial).toBe(true);
    expect(Date.parse(flow.since)).toBeLessThanOrEqual(Date.now());
    expect(flow.points.slice(0, -1).every((p) => !p.partial)).toBe(true);
    expect(flow.points.some((p) => p.rejected_samples_per_second > 0)).toBe(true);
  });

  it('answers /favicon.ico without a token (no 401 in the browser console)', async () => {
    const res = await request(`${edge.adminUrl}/favicon.ico`);
    await res.body.dump();
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe('/ui/favicon.svg');
  });
});
