// Adaptive protection on the proxy (docs/protection.md), against an upstream that holds writes until released:
// observe forwards everything and counts what it would shed; enforce answers 429 (never 5xx) past a priority's
// share, while a higher priority still gets in; an upstream that holds writes without answering lowers the
// ceiling ("stalled"), one that resets them lowers it too ("errors"), and both show in /metrics and
// GET /api/protection; failing reads do not move it. Shadow copies are never counted or shed.
// Two edges share the upstream: one whose window (10 s) never closes during its tests, so the ceiling stays at
// its maximum while admission is checked, and one with 100 ms windows for the ceiling's moves.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startFaultUpstream } from '../helpers/fault-upstream.js';
import type { FaultUpstream } from '../helpers/fault-upstream.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { manySeries, remoteWriteHeaders, snappyBody } from '../helpers/write-request.js';
import { sleep } from '../helpers/child-process.js';

const body = snappyBody(manySeries(5, 4));
let upstream: FaultUpstream;
let slow: EdgeUnderTest;
let fast: EdgeUnderTest;
/** The edge the current test talks to. */
let edge: EdgeUnderTest;

interface Answer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

async function push(tenant: string, extra: Record<string, string> = {}): Promise<Answer> {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { ...remoteWriteHeaders(tenant), ...extra },
    body,
  });
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

interface State {
  ceiling: number;
  inflight: number;
  last_reason: string;
}

async function state(): Promise<State> {
  const res = await request(`${edge.adminUrl}/api/protection`, { headers: edge.adminHeaders });
  return (await res.body.json()) as State;
}

async function setMode(mode: string): Promise<void> {
  const res = await request(`${edge.adminUrl}/api/protection`, {
    method: 'POST',
    headers: { ...edge.adminHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ mode }),
  });
  await res.body.dump();
  expect(res.statusCode).toBe(200);
}

/** Waits until the upstream holds `n` writes. */
async function held(n: number): Promise<void> {
  for (let i = 0; i < 200 && upstream.held < n; i++) await sleep(10);
  expect(upstream.held).toBe(n);
}

const OVERRIDES = 'overrides:\n  low:\n    edge_priority: 0\n  high:\n    edge_priority: 10\n';
const BOUNDS = { ADAPTIVE_MIN_CEILING: '2', ADAPTIVE_MAX_CEILING: '8', ADAPTIVE_LATENCY_TARGET: '5s' };

beforeAll(async () => {
  upstream = await startFaultUpstream();
  slow = await startEdge(
    upstream.url,
    { ...BOUNDS, ADAPTIVE_PROTECTION: 'observe', ADAPTIVE_WINDOW: '10s' },
    OVERRIDES,
  );
  fast = await startEdge(
    upstream.url,
    {
      ...BOUNDS,
      ADAPTIVE_PROTECTION: 'enforce',
      ADAPTIVE_WINDOW: '100ms',
      ADAPTIVE_BACKOFF_PERCENT: '50',
      ADAPTIVE_INCREASE: '1',
    },
    OVERRIDES,
  );
  edge = slow;
});

afterAll(async () => {
  upstream.release();
  await slow?.stop();
  await fast?.stop();
  await upstream?.close();
});

describe('adaptive protection on the proxy', () => {
  it('observe forwards everything and counts what enforce would shed', async () => {
    upstream.mode = 'hold';
    // Priority 0 may fill half of 8: the fifth and sixth would be shed.
    const pending = Array.from({ length: 6 }, () => push('low'));
    await held(6);
    upstream.release();
    upstream.mode = 'ok';
    expect((await Promise.all(pending)).map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const m = await scrapeMetrics(edge.metricsUrl);
    expect(sumMetric(m, 'rls_adaptive_shed_total', { mode: 'observe', priority: '0' })).toBe(2);
    expect(sumMetric(m, 'rls_adaptive_shed_total', { mode: 'enforce' })).toBe(0);
    expect(sumMetric(m, 'rls_adaptive_mode', { mode: 'observe' })).toBe(1);
  });

  it('enforce answers 429 past the share, never 5xx, while a higher priority still gets in', async () => {
    await setMode('enforce');
    upstream.mode = 'hold';
    const low = Array.from({ length: 4 }, () => push('low'));
    await held(4);
    const shed = await push('low');
    expect(shed.status).toBe(429);
    // Every 429 carries Mimir's Retry-After (RETRY_AFTER_HEADER_MIN_BACKOFF 6s, jitter up to half): 6 to 9 s
    // on a first attempt, so a shed sender backs off as it would from Mimir itself.
    expect(Number(shed.headers['retry-after'])).toBeGreaterThanOrEqual(6);
    expect(Number(shed.headers['retry-after'])).toBeLessThanOrEqual(9);
    expect(shed.headers['x-rate-limited']).toBe('true');
    expect(shed.text).toContain('err-mimir-edge-upstream-overloaded');
    // A shadow copy is never forwarded, so it is neither counted nor shed.
    expect((await push('low', { 'x-edge-shadow': '1' })).status).toBe(204);
    // Priority 10 is held to the writes of priority 10 in flight: it gets in beside the four low ones.
    const high = Array.from({ length: 4 }, () => push('high'));
    await held(8);
    expect((await state()).inflight).toBe(8);
    upstream.release();
    upstream.mode = 'ok';
    expect((await Promise.all([...low, ...high])).every((a) => a.status === 200)).toBe(true);
    const m = await scrapeMetrics(edge.metricsUrl);
    expect(sumMetric(m, 'rls_adaptive_shed_total', { mode: 'enforce', priority: '0' })).toBe(1);
    expect(sumMetric(m, 'rls_decisions_total', { tenant: 'low', reason: 'upstream_overloaded' })).toBe(1);
    for (let i = 0; i < 50 && (await state()).inflight > 0; i++) await sleep(10);
    expect((await state()).inflight).toBe(0);
  });

  it('lowers the ceiling when the upstream stops answering, and raises it again once it answers', async () => {
    edge = fast;
    upstream.mode = 'hold';
    const pending = [push('high')];
    await held(1);
    // Writes in flight and no answer for whole windows: stalled.
    for (let i = 0; i < 100 && (await state()).ceiling > 2; i++) await sleep(20);
    const s = await state();
    expect(s.ceiling).toBe(2);
    expect(s.last_reason).toBe('stalled');
    upstream.release();
    upstream.mode = 'ok';
    await Promise.all(pending);
    const m = await scrapeMetrics(edge.metricsUrl);
    expect(
      sumMetric(m, 'rls_adaptive_ceiling_changes_total', { direction: 'down', reason: 'stalled' }),
    ).toBeGreaterThan(0);
    expect(sumMetric(m, 'rls_adaptive_last_change_reason', { reason: 'stalled' })).toBe(1);
    // Answered and idle windows raise it by one each, back to the max.
    for (let i = 0; i < 100 && (await state()).ceiling < 8; i++) {
      expect((await push('high')).status).toBe(200);
      await sleep(20);
    }
    expect((await state()).ceiling).toBe(8);
  });

  it('lowers the ceiling on writes that get no answer (502 to the sender); failing reads never move it', async () => {
    // Reads (not a write path) are watched on the "other" route only.
    upstream.mode = 'reset';
    for (let i = 0; i < 5; i++) {
      const res = await request(`${edge.proxyUrl}/prometheus/api/v1/query?query=up`);
      await res.body.dump();
      expect(res.statusCode).toBe(502);
    }
    await sleep(250);
    expect((await state()).ceiling).toBe(8);
    // Writes whose connection is reset twice (no answer) are errors of the write route.
    const answers = await Promise.all(Array.from({ length: 3 }, () => push('high')));
    expect(answers.every((a) => a.status === 502)).toBe(true);
    for (let i = 0; i < 50 && (await state()).last_reason !== 'errors'; i++) await sleep(20);
    expect((await state()).last_reason).toBe('errors');
    expect((await state()).ceiling).toBeLessThan(8);
    upstream.mode = 'ok';
  });
});
