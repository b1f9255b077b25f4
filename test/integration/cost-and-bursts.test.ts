// Cost export and burst flags through the running service: two tenants write through the proxy, one of them
// steps to ten times its rate, and the admin API shows the burst (and /metrics rls_tenant_burst), while
// GET /api/cost prices exactly what was accepted, as JSON and as CSV. The service's clock is held by the test
// (one second per step); the detector's timer runs for real every 25 ms and reads that clock.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

// A valid Mimir tenant id that a spreadsheet would read as a formula.
const STEADY = '-steady';
const BURSTY = 'team-burst';
const STEADY_BODY = snappyBody(manySeries(100, 4));
const BURST_BODY = snappyBody(manySeries(1000, 4));
// The baseline is about the mean of the history so far (a minute here, where a day is the default), so the
// burst is kept short against the warm-up, as a 5 min window is against the default hour.
const WARM_STEPS = 60;
const BURST_STEPS = 10;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let clock = Date.UTC(2026, 0, 5, 12, 0, 0);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function get(path: string) {
  const res = await request(`${edge.adminUrl}${path}`, { headers: edge.adminHeaders });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function getJson<T>(path: string): Promise<T> {
  const res = await get(path);
  expect(res.status, res.text).toBe(200);
  return JSON.parse(res.text) as T;
}

interface BurstJson {
  tenant: string;
  flagged: boolean;
  warm: boolean;
  rate: number;
  baseline: number;
}

/** One held second: both tenants write, then the clock moves and the detector's timer gets to run. */
async function step(burst: boolean): Promise<void> {
  expect(await pushRemoteWrite(edge.proxyUrl, STEADY, STEADY_BODY)).toBe(200);
  expect(await pushRemoteWrite(edge.proxyUrl, BURSTY, burst ? BURST_BODY : STEADY_BODY)).toBe(200);
  clock += 1000;
  await sleep(60);
}

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(
    upstream.url,
    {
      COST_PRICE_PER_MILLION_SAMPLES: '2',
      COST_PRICE_PER_GIB: '0.5',
      // Off here: by_series_growth is null without an estimate.
      ACTIVE_SERIES_ENABLED: 'false',
      COST_CURRENCY: 'EUR',
      BURST_WINDOW: '3s',
      BURST_BASELINE: '1h',
      BURST_WARMUP: '30s',
      BURST_MIN_RATE: '50',
      BURST_INTERVAL: '25ms',
    },
    'overrides: {}\n',
    () => clock,
  );
  for (let i = 0; i < WARM_STEPS; i++) await step(false);
  for (let i = 0; i < BURST_STEPS; i++) await step(true);
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await upstream?.close();
});

describe('burst detection through the service', () => {
  it('flags the tenant that stepped to 10× its rate, and not the steady one', async () => {
    let report = await getJson<{ enabled: boolean; flagged: BurstJson[] }>('/api/bursts');
    for (let i = 0; i < 40 && report.flagged.length === 0; i++) {
      await sleep(50);
      report = await getJson('/api/bursts');
    }
    expect(report.enabled).toBe(true);
    expect(report.flagged.map((b) => b.tenant)).toEqual([BURSTY]);
    const b = report.flagged[0]!;
    expect(b.rate).toBeGreaterThan(3 * b.baseline);

    const bursty = await getJson<{ burst: BurstJson }>(`/api/tenants/${BURSTY}`);
    expect(bursty.burst).toMatchObject({ tenant: BURSTY, flagged: true, warm: true });
    const steady = await getJson<{ burst: BurstJson }>(`/api/tenants/${STEADY}`);
    expect(steady.burst).toMatchObject({ tenant: STEADY, flagged: false, warm: true });
    expect(steady.burst.rate / steady.burst.baseline).toBeGreaterThan(0.8);
    expect(steady.burst.rate / steady.burst.baseline).toBeLessThan(1.25);

    const overview = await getJson<{ bursting: BurstJson[] }>('/api/overview?range=5m');
    expect(overview.bursting.map((t) => t.tenant)).toEqual([BURSTY]);

    const metrics = await (await request(edge.metricsUrl)).body.text();
    expect(metrics).toContain(`rls_tenant_burst{tenant="${BURSTY}"} 1`);
    expect(metrics).toContain(`rls_tenant_burst{tenant="${STEADY}"} 0`);
  });
});

describe('cost export through the service', () => {
  const steadyItems = (WARM_STEPS + BURST_STEPS) * 100;
  const burstyItems = WARM_STEPS * 100 + BURST_STEPS * 1000;
  const steadyBytes = (WARM_STEPS + BURST_STEPS) * STEADY_BODY.length;
  const burstyBytes = WARM_STEPS * STEADY_BODY.length + BURST_STEPS * BURST_BODY.length;
  const price = (items: number, bytes: number) => (items / 1e6) * 2 + (bytes / 2 ** 30) * 0.5;

  interface CostRow {
    tenant: string;
    samples: number;
    bytes: number;
    total_cost: number;
    samples_cost: number;
    bytes_cost: number;
  }

  it('prices exactly the accepted items and bytes of each tenant (JSON)', async () => {
    const r = await getJson<{ currency: string; tenants: CostRow[]; total: { total_cost: number } }>(
      '/api/cost?range=1h',
    );
    expect(r.currency).toBe('EUR');
    expect(r.tenants.map((t) => t.tenant)).toEqual([BURSTY, STEADY]);
    const [bursty, steady] = r.tenants;
    expect(bursty).toMatchObject({ samples: burstyItems, bytes: burstyBytes });
    expect(steady).toMatchObject({ samples: steadyItems, bytes: steadyBytes });
    expect(bursty!.total_cost).toBeCloseTo(price(burstyItems, burstyBytes), 8);
    expect(steady!.total_cost).toBeCloseTo(price(steadyItems, steadyBytes), 8);
    expect(r.total.total_cost).toBeCloseTo(bursty!.total_cost + steady!.total_cost, 8);

    const top = await getJson<{ by_cost: { tenant: string }[]; by_series_growth: unknown }>(
      '/api/top-offenders?range=1h',
    );
    expect(top.by_cost.map((t) => t.tenant)).toEqual([BURSTY, STEADY]);
    expect(top.by_series_growth).toBeNull();

    // Since start, the same cost is a counter for Prometheus.
    const metrics = await (await request(edge.metricsUrl)).body.text();
    const counter = Number(
      new RegExp(`rls_tenant_cost_total\\{tenant="${BURSTY}",currency="EUR"\\} (\\S+)`).exec(metrics)?.[1],
    );
    expect(counter).toBeCloseTo(price(burstyItems, burstyBytes), 8);
  });

  it('exports the same figures as CSV, the formula-like tenant id defused', async () => {
    const json = await getJson<{ tenants: CostRow[] }>('/api/cost?range=1h');
    const res = await get('/api/cost?range=1h&format=csv');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="cost-1h.csv"');
    const lines = res.text.split('\r\n');
    expect(lines[0]).toBe(
      'tenant,range,from,to,currency,samples,bytes,samples_cost,bytes_cost,total_cost,samples_rejected,bytes_rejected',
    );
    const rows = lines.slice(1, -1).map((l) => l.split(','));
    expect(rows.map((r) => r[0])).toEqual([BURSTY, `'${STEADY}`]);
    for (const [i, t] of json.tenants.entries()) {
      const row = rows[i]!;
      expect(row.slice(4, 10)).toEqual([
        'EUR',
        String(t.samples),
        String(t.bytes),
        String(t.samples_cost),
        String(t.bytes_cost),
        String(t.total_cost),
      ]);
    }
  });

  it('refuses an unknown format or range and changes nothing', async () => {
    const bad = await get('/api/cost?format=xml');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ path: 'format' });
    expect((await get('/api/cost?range=2d')).status).toBe(400);
    expect((await get('/api/top-offenders?top=0')).status).toBe(400);
  });
});
