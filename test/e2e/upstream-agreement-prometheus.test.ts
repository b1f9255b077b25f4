// End to end: the edge in dry-run in front of a real Prometheus receiver (Debian's 2.42 with
// --web.enable-remote-write-receiver), which refuses out-of-order samples with 400. Each write's decision is
// compared with what Prometheus answers, and the agreement counters move: agree when both accept, edge_looser
// when the edge allows what Prometheus refuses, edge_stricter when the edge would refuse what it accepts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import snappy from 'snappy';
import { stopAllProcesses } from '../helpers/child-process.js';
import { launchChromium } from '../helpers/browser.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { EDGE_ADMIN_TOKEN, startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { scrapeMetrics, startPrometheus, sumMetric } from '../helpers/prometheus.js';
import type { PrometheusInstance } from '../helpers/prometheus.js';
import { encodeWriteRequest } from '../helpers/write-request.js';

let receiver: PrometheusInstance | undefined;
let edge: EdgeUnderTest | undefined;

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} did not start (see the beforeAll error)`);
  return value;
}

/** One remote-write body: `series` series named `name`, one sample each at `timestampMs`. */
function body(name: string, series: number, timestampMs: number): Buffer {
  const encoded = encodeWriteRequest({
    timeseries: Array.from({ length: series }, (_, i) => ({
      labels: [
        { name: '__name__', value: name },
        { name: 'instance', value: `i${i}` },
      ],
      samples: [{ value: i, timestamp: timestampMs }],
      exemplars: [],
      histograms: [],
    })),
    metadata: [],
  });
  return snappy.compressSync(encoded);
}

async function write(tenant: string, payload: Buffer): Promise<{ status: number; text: string }> {
  const res = await request(`${must(edge, 'the edge').proxyUrl}/api/v1/write`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      'x-scope-orgid': tenant,
    },
    body: payload,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

beforeAll(async () => {
  requireDebianBinary('prometheus', 'prometheus');
  receiver = await startPrometheus({
    name: 'agreement-receiver',
    config: { global: {} },
    remoteWriteReceiver: true,
  });
  // DRY_RUN: every write is forwarded, so every decision meets the receiver's answer.
  edge = await startEdge(
    receiver.url,
    { DRY_RUN: 'true' },
    'overrides:\n  strict:\n    max_series_per_request: 5\n',
  );
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await stopAllProcesses();
}, 30_000);

describe('decision agreement with a real Prometheus receiver', () => {
  it('moves the counters: agree, edge_looser for an out-of-order sample, edge_stricter for a limit only the edge has', async () => {
    const e = must(edge, 'the edge');
    const now = Date.now();
    // Both accept.
    const first = await write('team-a', body('agreement_probe', 3, now));
    expect(first.status, first.text).toBeLessThan(300);
    // The same series a minute back: in order for the edge, out of order for Prometheus (400).
    const older = await write('team-a', body('agreement_probe', 3, now - 60_000));
    expect(older.status).toBe(400);
    expect(older.text).toMatch(/out of order/i);
    // 10 series over the edge's max_series_per_request of 5 (dry-run: forwarded), accepted by Prometheus.
    const wide = await write('strict', body('agreement_wide', 10, now));
    expect(wide.status, wide.text).toBeLessThan(300);

    const metrics = await scrapeMetrics(e.metricsUrl);
    const count = (labels: Record<string, string>): number =>
      sumMetric(metrics, 'rls_upstream_agreement_total', labels);
    expect(count({ outcome: 'agree', reason: 'allowed' })).toBe(1);
    expect(count({ outcome: 'edge_looser', reason: 'not_checked' })).toBe(1);
    expect(count({ outcome: 'edge_stricter', reason: 'max_series_per_request' })).toBe(1);

    const res = await request(`${e.adminUrl}/api/agreement`, { headers: e.adminHeaders });
    const json = (await res.body.json()) as {
      tenants: { tenant: string; agree: number; edge_looser: number; edge_stricter: number }[];
      recent_disagreements: { tenant: string; outcome: string; upstream: { status: number; text: string } }[];
    };
    expect(json.tenants).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ tenant: 'team-a', agree: 1, edge_looser: 1, edge_stricter: 0 }),
        expect.objectContaining({ tenant: 'strict', agree: 0, edge_looser: 0, edge_stricter: 1 }),
      ]),
    );
    const looser = json.recent_disagreements.find((d) => d.outcome === 'edge_looser');
    expect(looser?.tenant).toBe('team-a');
    expect(looser?.upstream.status).toBe(400);
    // Prometheus's own words, sampled: what the operator reads in the UI.
    expect(looser?.upstream.text).toMatch(/out of order/i);
  }, 30_000);

  it("shows the disagreement, with the upstream's words, on the Agreement page and the tenant page", async () => {
    const e = must(edge, 'the edge');
    const executablePath = requireDebianBinary('chromium', 'chromium');
    const { context, page } = await launchChromium(executablePath);
    try {
      await page.goto(`${e.adminUrl}/ui/`);
      await page.getByLabel('Admin token').fill(EDGE_ADMIN_TOKEN);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('link', { name: 'Agreement', exact: true }).click();
      const tenants = page.getByTestId('agreement-tenants');
      await tenants.getByRole('link', { name: 'team-a' }).waitFor();
      await expect.poll(() => page.getByTestId('disagreements').innerText()).toMatch(/out of order/i);
      await tenants.getByRole('link', { name: 'team-a' }).click();
      const panel = page.getByTestId('tenant-agreement');
      await panel.waitFor();
      expect(await panel.innerText()).toMatch(/1 edge looser/);
    } finally {
      await context.close();
    }
  }, 60_000);
});
