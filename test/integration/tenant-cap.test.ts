// The tenant label cap and idle eviction, as an operator sees them on /metrics and in the admin API: a flood
// of invented tenant ids cannot grow label sets past MAX_TENANT_LABELS, configured tenants keep their name,
// and tenants that went quiet give their place back after TENANT_IDLE_TIMEOUT.

import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

const RW_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
};
const BODY = snappyBody(manySeries(1, 3, 1));

let upstream: RecordingUpstream | undefined;
let edge: EdgeUnderTest | undefined;
const agent = new Agent({ connections: 16 });

afterEach(async () => {
  await edge?.stop();
  await upstream?.close();
  edge = undefined;
  upstream = undefined;
});

async function push(tenant: string): Promise<number> {
  const res = await request(`${edge!.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { ...RW_HEADERS, 'x-scope-orgid': tenant },
    body: BODY,
    dispatcher: agent,
  });
  await res.body.dump();
  return res.statusCode;
}

/** The tenant label values of rls_decisions_total on /metrics now. */
async function decisionTenants(): Promise<Set<string>> {
  const samples = await scrapeMetrics(edge!.metricsUrl);
  return new Set(samples.filter((s) => s.name === 'rls_decisions_total').map((s) => s.labels.tenant ?? ''));
}

describe('MAX_TENANT_LABELS', () => {
  it('names the first 1,000 tenants of 1,500, counts the other 500 as __other__, and still forwards all', async () => {
    upstream = await startRecordingUpstream();
    edge = await startEdge(upstream.url, {}, 'overrides:\n  team-configured:\n    ingestion_rate: 100000\n');
    const statuses: number[] = [];
    for (let batch = 0; batch < 1500; batch += 50) {
      const sent = Array.from({ length: 50 }, (_, i) => push(`flood-${batch + i}`));
      statuses.push(...(await Promise.all(sent)));
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(1500);
    expect(upstream.requests).toHaveLength(1500);
    // A configured tenant arriving after the flood keeps its own name: the flood cannot hide it.
    expect(await push('team-configured')).toBe(200);

    const samples = await scrapeMetrics(edge.metricsUrl);
    const tenants = await decisionTenants();
    expect(tenants.size, 'tenant label values on rls_decisions_total').toBe(1002);
    expect(tenants.has('__other__')).toBe(true);
    expect(tenants.has('team-configured')).toBe(true);
    expect(tenants.has('flood-999')).toBe(true);
    expect(tenants.has('flood-1000')).toBe(false);
    expect(sumMetric(samples, 'rls_decisions_total', { tenant: '__other__' })).toBe(500);
    expect(sumMetric(samples, 'rls_decisions_total', { decision: 'allow' })).toBe(1501);
    expect(sumMetric(samples, 'rls_tenant_labels')).toBe(1001);

    // The admin API pools the same tenants under the same name.
    const other = await request(`${edge.adminUrl}/api/tenants/__other__`, { headers: edge.adminHeaders });
    const body = (await other.body.json()) as { stats: { requests: number } | null };
    expect(other.statusCode).toBe(200);
    expect(body.stats?.requests).toBe(500);
  }, 60_000);
});

describe('TENANT_IDLE_TIMEOUT', () => {
  it('forgets idle unknown tenants (labels, stats, history) and gives their places to new tenants', async () => {
    let clock = Date.UTC(2026, 0, 5, 12, 0, 0);
    upstream = await startRecordingUpstream();
    edge = await startEdge(
      upstream.url,
      { MAX_TENANT_LABELS: '2', TENANT_IDLE_TIMEOUT: '4s' },
      'overrides:\n  team-configured:\n    ingestion_rate: 100000\n',
      () => clock,
    );
    for (const t of ['idle-a', 'idle-b', 'idle-c', 'team-configured']) expect(await push(t)).toBe(200);
    expect(await decisionTenants()).toEqual(new Set(['idle-a', 'idle-b', '__other__', 'team-configured']));

    // Ten minutes pass on the edge's clock; the sweep (every second here) evicts what went quiet.
    clock += 10 * 60_000;
    const deadline = Date.now() + 5000;
    let tenants = await decisionTenants();
    while (tenants.size > 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      tenants = await decisionTenants();
    }
    expect(tenants, 'tenant labels left after the idle timeout').toEqual(new Set(['team-configured']));
    const idle = await request(`${edge.adminUrl}/api/tenants/idle-a`, { headers: edge.adminHeaders });
    expect(((await idle.body.json()) as { stats: unknown }).stats).toBeNull();
    const samples = await scrapeMetrics(edge.metricsUrl);
    expect(sumMetric(samples, 'rls_tenant_evictions_total')).toBe(3);

    // The freed places go to the next tenants, which are named again instead of pooled.
    for (const t of ['new-d', 'new-e', 'new-f']) expect(await push(t)).toBe(200);
    expect(await decisionTenants()).toEqual(new Set(['new-d', 'new-e', '__other__', 'team-configured']));
    const fresh = await request(`${edge.adminUrl}/api/tenants/new-d`, { headers: edge.adminHeaders });
    const view = (await fresh.body.json()) as { stats: { requests: number } | null };
    expect(view.stats?.requests, 'a new tenant must not inherit an evicted tenant history').toBe(1);
  }, 30_000);
});
