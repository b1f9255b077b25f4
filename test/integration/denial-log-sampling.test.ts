// Denial log lines under a flood (LOG_DENIALS): by default a tenant's denials for one reason get their first
// line at once and then one line per LOG_DENIALS_INTERVAL carrying how many were left out, while
// rls_decisions_total counts every one; LOG_DENIALS=all logs each denial, LOG_DENIALS=none none.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../helpers/child-process.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { manySeries, pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const OVERRIDES =
  'overrides:\n  flood:\n    max_series_per_request: 1\n  calm:\n    max_series_per_request: 1\n';
const body = snappyBody(manySeries(3, 4));

let upstream: RecordingUpstream;
const edges: EdgeUnderTest[] = [];

beforeAll(async () => {
  upstream = await startRecordingUpstream();
});

afterAll(async () => {
  for (const edge of edges) await edge.stop();
  await upstream?.close();
});

async function edgeWith(env: Record<string, string>): Promise<EdgeUnderTest> {
  const edge = await startEdge(upstream.url, { LOG_LEVEL: 'info', ...env }, OVERRIDES);
  edges.push(edge);
  return edge;
}

const push = (edge: EdgeUnderTest, tenant: string) => pushRemoteWrite(edge.proxyUrl, tenant, body);

/** The service's denial lines for a tenant (text format), with their `suppressed=` count if any. */
function denialLines(edge: EdgeUnderTest, tenant: string): { suppressed: number }[] {
  return edge
    .logs()
    .split('\n')
    .filter((l) => l.includes(` tenant=${tenant} `) && l.includes('decision=deny'))
    .map((l) => ({ suppressed: Number(/ suppressed=(\d+)/.exec(l)?.[1] ?? '0') }));
}

async function deniedTotal(edge: EdgeUnderTest, tenant: string): Promise<number> {
  return sumMetric(await scrapeMetrics(edge.metricsUrl), 'rls_decisions_total', { decision: 'deny', tenant });
}

describe('denial log sampling', () => {
  it('logs the first denial of a flood, then one line an interval with the count left out', async () => {
    const edge = await edgeWith({ LOG_DENIALS_INTERVAL: '1s' });
    for (let i = 0; i < 40; i++) expect(await push(edge, 'flood')).toBe(400);
    expect(await push(edge, 'calm')).toBe(400);
    expect(denialLines(edge, 'flood'), 'one line for 40 denials within the interval').toEqual([
      { suppressed: 0 },
    ]);
    expect(denialLines(edge, 'calm'), 'another tenant gets its own first line').toHaveLength(1);
    expect(await deniedTotal(edge, 'flood'), 'metrics count every denial').toBe(40);

    await sleep(1100);
    expect(await push(edge, 'flood')).toBe(400);
    expect(denialLines(edge, 'flood')).toEqual([{ suppressed: 0 }, { suppressed: 39 }]);
  });

  it('logs every denial with LOG_DENIALS=all and none with LOG_DENIALS=none', async () => {
    const all = await edgeWith({ LOG_DENIALS: 'all' });
    const none = await edgeWith({ LOG_DENIALS: 'none' });
    for (let i = 0; i < 10; i++) {
      expect(await push(all, 'flood')).toBe(400);
      expect(await push(none, 'flood')).toBe(400);
    }
    expect(denialLines(all, 'flood')).toHaveLength(10);
    expect(denialLines(none, 'flood')).toHaveLength(0);
    expect(await deniedTotal(none, 'flood')).toBe(10);
  });

  it('refuses an unknown LOG_DENIALS value at start, naming the setting', async () => {
    await expect(edgeWith({ LOG_DENIALS: 'some' })).rejects.toThrow(/LOG_DENIALS/);
  });
});
