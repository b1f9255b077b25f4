// Decision agreement with the upstream, through the proxy: in dry-run every write is forwarded, and each
// decision is compared with what the upstream answers. A recording upstream answers as Mimir would (200, or 400
// with Mimir's text and id); GET /api/agreement, the tenant detail and rls_upstream_agreement_total show it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

const MIMIR_400 =
  "received a series whose number of labels exceeds the limit (actual: 13, limit: 12) series: 'x{…}' (err-mimir-max-label-names-per-series). To adjust the related per-tenant limit, configure -validation.max-label-names-per-series, or contact your service administrator.\n";

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  // team-a's series limit is lower at the edge than the upstream's answers assume: the edge would refuse
  // 30 series (max_series_per_request 10) while the upstream accepts them.
  edge = await startEdge(
    upstream.url,
    { DRY_RUN: 'true' },
    'overrides:\n  team-a:\n    max_series_per_request: 10\n',
  );
});

afterAll(async () => {
  await edge?.stop();
  await upstream?.close();
});

async function agreement(): Promise<{
  mode: string;
  totals: { agree: number; edge_stricter: number; edge_looser: number };
  tenants: { tenant: string; agree: number; edge_stricter: number; edge_looser: number }[];
  recent_disagreements: {
    tenant: string;
    outcome: string;
    reason: string;
    upstream: { status: number; error_id: string; text: string };
  }[];
}> {
  const res = await request(`${edge.adminUrl}/api/agreement`, { headers: edge.adminHeaders });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as Awaited<ReturnType<typeof agreement>>;
}

describe('decision agreement with the upstream', () => {
  it('agree when both accept, edge_stricter when only the edge would refuse, edge_looser when only the upstream refuses', async () => {
    upstream.respond.status = 200;
    upstream.respond.body = '';
    expect(await pushRemoteWrite(edge.proxyUrl, 'team-a', snappyBody(manySeries(2)))).toBe(200);
    // Over max_series_per_request at the edge (dry-run: forwarded), accepted upstream.
    expect(await pushRemoteWrite(edge.proxyUrl, 'team-a', snappyBody(manySeries(30)))).toBe(200);
    // Within the edge's limits, refused upstream with Mimir's 400.
    upstream.respond.status = 400;
    upstream.respond.body = MIMIR_400;
    expect(await pushRemoteWrite(edge.proxyUrl, 'team-a', snappyBody(manySeries(2)))).toBe(400);
    // Refused by both: the edge would deny (too many series) and the upstream answers 400.
    expect(await pushRemoteWrite(edge.proxyUrl, 'team-a', snappyBody(manySeries(30)))).toBe(400);
    // A 5xx is no verdict on the write: not counted.
    upstream.respond.status = 503;
    upstream.respond.body = 'unavailable';
    expect(await pushRemoteWrite(edge.proxyUrl, 'team-a', snappyBody(manySeries(2)))).toBe(503);

    const a = await agreement();
    expect(a.mode).toBe('dry-run');
    expect(a.totals).toMatchObject({ agree: 2, edge_stricter: 1, edge_looser: 1 });
    expect(a.tenants).toEqual([
      expect.objectContaining({ tenant: 'team-a', agree: 2, edge_stricter: 1, edge_looser: 1 }),
    ]);
    const [looser, stricter] = a.recent_disagreements;
    expect(looser).toMatchObject({
      tenant: 'team-a',
      outcome: 'edge_looser',
      reason: 'max_label_names_per_series',
      upstream: { status: 400, error_id: 'err-mimir-max-label-names-per-series' },
    });
    expect(looser!.upstream.text).toContain('number of labels exceeds the limit');
    expect(stricter).toMatchObject({ outcome: 'edge_stricter', reason: 'max_series_per_request' });

    const metrics = await scrapeMetrics(edge.metricsUrl);
    const count = (labels: Record<string, string>): number =>
      sumMetric(metrics, 'rls_upstream_agreement_total', labels);
    expect(count({ outcome: 'agree' })).toBe(2);
    expect(count({ outcome: 'edge_stricter', reason: 'max_series_per_request' })).toBe(1);
    expect(count({ outcome: 'edge_looser', reason: 'max_label_names_per_series' })).toBe(1);

    const detail = await request(`${edge.adminUrl}/api/tenants/team-a`, { headers: edge.adminHeaders });
    const json = (await detail.body.json()) as { agreement: { edge_looser: number } | null };
    expect(json.agreement).toMatchObject({ agree: 2, edge_stricter: 1, edge_looser: 1 });
  });

  it('relays the upstream answer unchanged while reading its start', async () => {
    upstream.respond.status = 400;
    upstream.respond.body = MIMIR_400.repeat(40);
    const res = await request(`${edge.proxyUrl}/api/v1/push`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-scope-orgid': 'team-b',
      },
      body: snappyBody(manySeries(1)),
    });
    expect(res.statusCode).toBe(400);
    expect(await res.body.text()).toBe(MIMIR_400.repeat(40));
    const a = await agreement();
    const latest = a.recent_disagreements[0]!;
    expect(latest.tenant).toBe('team-b');
    expect(latest.upstream.text.length).toBeLessThanOrEqual(241);
  });
});
