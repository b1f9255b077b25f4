// The active-series worker (src/observe/active-series/off-thread.ts, active-series-worker.ts): the estimate it
// keeps is the in-thread tracker's on the same writes; a full queue drops and counts instead of blocking; a worker
// that dies is restarted while writes keep passing.

import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ActiveSeries } from '../../../src/observe/active-series/active-series.js';
import type { ActiveSeriesOptions } from '../../../src/observe/active-series/active-series.js';
import { OffThreadActiveSeries } from '../../../src/observe/active-series/off-thread.js';
import type { OffThreadDeps } from '../../../src/observe/active-series/off-thread.js';
import { decompressSnappyBlock, measureBody, selectDecoder } from '../../../src/remote-write/index.js';
import type { BodyDecoder } from '../../../src/remote-write/index.js';
import { encodeOtlpJson, encodeOtlpProto, otlpRequest } from '../../helpers/otlp-request.js';
import { rw2SnappyBody } from '../../helpers/rw2-request.js';
import { snappyBody } from '../../helpers/write-request.js';

const OPTIONS: ActiveSeriesOptions = {
  windowMs: 20 * 60_000,
  maxTenants: 100,
  sampleEvery: 1,
  filterMaxBytes: 1 << 16,
  refreshMs: 10_000,
};
const T0 = Date.UTC(2026, 11, 7, 8, 0, 0);

let open: OffThreadActiveSeries[] = [];
afterEach(async () => {
  await Promise.all(open.map((t) => t.close()));
  open = [];
});

function offThread(
  options: Partial<ActiveSeriesOptions> & { queueBytes?: number } = {},
  deps: Partial<OffThreadDeps> = {},
): { tracker: OffThreadActiveSeries; logs: string[]; clock: { ms: number } } {
  const clock = { ms: T0 };
  const logs: string[] = [];
  const opts = { ...OPTIONS, queueBytes: 1 << 20, ...options };
  const tracker = new OffThreadActiveSeries(opts, {
    main: new ActiveSeries(opts),
    redis: undefined,
    now: () => clock.ms,
    log: (level, msg, err) => logs.push(`${level} ${msg}: ${err}`),
    ...deps,
  });
  open.push(tracker);
  return { tracker, logs, clock };
}

function write(metric: string, from: number, count: number): { wire: Buffer; decoded: Uint8Array } {
  const wire = snappyBody(
    Array.from({ length: count }, (_, i) => ({ labels: { __name__: metric, pod: `pod-${from + i}` } })),
  );
  return { wire, decoded: decompressSnappyBlock(wire, 1 << 26) };
}

describe('active series off the event loop', () => {
  it('keeps the in-thread estimate of the same writes', async () => {
    const { tracker, clock } = offThread({ sampleEvery: 3 });
    const inThread = new ActiveSeries({ ...OPTIONS, sampleEvery: 3 });
    let now = T0;
    for (let i = 0; i < 30; i++) {
      now += 7_000;
      const tenant = `t${i % 3}`;
      const { wire, decoded } = write(i % 4 === 0 ? 'burst' : 'up', i * 37, 200);
      expect(tracker.observe(tenant, decoded, 'prw1', now, false, wire)).toBe(
        inThread.observe(tenant, decoded, 'prw1', now),
      );
    }
    clock.ms = now;
    await tracker.sync();
    expect(tracker.workerRead).toEqual({ requests: 12, series: 2400, errors: 0 });
    for (const tenant of ['t0', 't1', 't2']) {
      const a = tracker.snapshot(tenant, 1000, now)!;
      const b = inThread.snapshot(tenant, 1000, now, true)!;
      expect(a).toEqual(b);
    }
    expect([...tracker.tenantNames()].sort()).toEqual(['t0', 't1', 't2']);
    expect(tracker.topGrowth(3_600_000, 10, now)).toEqual(inThread.topGrowth(3_600_000, 10, now));
    expect(tracker.memoryBytes).toBe(inThread.memoryBytes);
  });

  it('reads every format the same in the worker: the body handed over compressed or as decoded (table)', async () => {
    const { tracker, clock } = offThread();
    const inThread = new ActiveSeries(OPTIONS);
    const pods = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'up', pod: `p-${i}` } }));
    const otlp = (n: number) =>
      otlpRequest([
        {
          attributes: { 'service.name': 'api' },
          metrics: [
            {
              name: 'requests',
              kind: 'gauge',
              points: Array.from({ length: n }, (_, i) => ({ attributes: { pod: `p-${i}` } })),
            },
          ],
        },
      ]);
    const cases: { tenant: string; path: string; type?: string; encoding?: string; wire: Buffer }[] = [
      { tenant: 'rw1', path: '/api/v1/push', wire: snappyBody(pods(300)) },
      {
        tenant: 'rw2',
        path: '/api/v1/push',
        type: 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
        wire: rw2SnappyBody(pods(300)),
      },
      {
        tenant: 'otlp-gzip',
        path: '/otlp/v1/metrics',
        type: 'application/x-protobuf',
        encoding: 'gzip',
        wire: gzipSync(encodeOtlpProto(otlp(300))),
      },
      {
        tenant: 'otlp-json',
        path: '/otlp/v1/metrics',
        type: 'application/json',
        wire: encodeOtlpJson(otlp(300)),
      },
    ];
    for (const c of cases) {
      const measured = measureBody(selectDecoder(c.path, c.type, c.encoding) as BodyDecoder, c.wire, 1 << 26);
      const format = measured.info.format;
      expect(tracker.observe(c.tenant, measured.decoded, format, T0, false, c.wire)).toBe(true);
      inThread.observe(c.tenant, measured.decoded, format, T0);
    }
    await tracker.sync();
    expect(tracker.workerRead.errors).toBe(0);
    for (const c of cases) {
      const s = tracker.snapshot(c.tenant, 0, clock.ms)!;
      expect(s, c.tenant).toEqual(inThread.snapshot(c.tenant, 0, clock.ms, true));
      expect(s.activeSeries, c.tenant).toBeGreaterThan(290);
    }
  });

  it('keeps the in-thread estimate of any sequence of writes (property)', async () => {
    const { tracker, clock } = offThread({ sampleEvery: 2 });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            tenant: fc.integer({ min: 0, max: 2 }),
            from: fc.integer({ min: 0, max: 3000 }),
            count: fc.integer({ min: 1, max: 400 }),
            stepMs: fc.integer({ min: 0, max: 5 * 60_000 }),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        async (writes) => {
          run++;
          const inThread = new ActiveSeries({ ...OPTIONS, sampleEvery: 2 });
          let now = T0;
          for (const w of writes) {
            now += w.stepMs;
            // Tenants of their own in each run: the worker's tracker lives across runs.
            const tenant = `r${run}-t${w.tenant}`;
            const { wire, decoded } = write('m', w.from, w.count);
            expect(tracker.observe(tenant, decoded, 'prw1', now, false, wire)).toBe(
              inThread.observe(tenant, decoded, 'prw1', now),
            );
          }
          clock.ms = now;
          await tracker.sync();
          for (const tenant of inThread.tenantNames()) {
            const a = tracker.snapshot(tenant, 500, now)!;
            expect(a).toEqual(inThread.snapshot(tenant, 500, now, true));
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it('drops and counts a write when the queue is full, without waiting for the worker', async () => {
    // A worker that never reads: the ring fills up.
    const { tracker } = offThread(
      { queueBytes: 256 * 1024 },
      { entry: { url: new URL('../../fixtures/idle-worker.mjs', import.meta.url) } },
    );
    const { wire, decoded } = write('up', 0, 2000);
    const started = performance.now();
    let read = 0;
    for (let i = 0; i < 100; i++) if (tracker.observe('t', decoded, 'prw1', T0, false, wire)) read++;
    const elapsedMs = performance.now() - started;
    // A record is the body and a header of 40 to 47 bytes, rounded up to 8; the ring never fills to the byte.
    expect(read).toBeGreaterThanOrEqual(Math.floor((256 * 1024) / (wire.length + 56)) - 1);
    expect(read).toBeLessThanOrEqual(Math.floor((256 * 1024) / (wire.length + 40)));
    expect(tracker.handover.dropped.queue_full).toBe(100 - read);
    expect(tracker.queuedBytes).toBeGreaterThan(200 * 1024);
    // Ninety-odd refusals and a few copies of the body: no waiting (a blocked hand-over would never return).
    expect(elapsedMs).toBeLessThan(1000);
  });

  it('restarts a worker that died; writes keep passing meanwhile, and are read again once it is back', async () => {
    const { tracker, logs, clock } = offThread({}, { restartMinMs: 50, restartMaxMs: 200 });
    const { wire, decoded } = write('up', 0, 300);
    expect(tracker.observe('t', decoded, 'prw1', T0, false, wire)).toBe(true);
    await tracker.sync();
    const first = tracker.currentWorker!;
    await first.terminate();
    // Down: the write is not read, and nothing throws or waits.
    expect(tracker.currentWorker).toBeUndefined();
    expect(tracker.observe('t', decoded, 'prw1', T0, false, wire)).toBe(false);
    expect(tracker.handover.dropped.worker_down).toBe(1);
    await expect.poll(() => tracker.currentWorker, { timeout: 5000, interval: 20 }).toBeDefined();
    expect(tracker.currentWorker).not.toBe(first);
    expect(tracker.handover.restarts).toBe(1);
    expect(logs).toEqual([expect.stringContaining('active series: worker died; restarting it')]);
    // The new worker starts from nothing (its state went with the old one) and reads again.
    const next = write('up', 1000, 500);
    expect(tracker.observe('t', next.decoded, 'prw1', T0 + 1000, false, next.wire)).toBe(true);
    clock.ms = T0 + 1000;
    await tracker.sync();
    const s = tracker.snapshot('t', 0, clock.ms)!;
    expect(s.activeSeries).toBeGreaterThan(490);
    expect(s.activeSeries).toBeLessThan(510);
    // A second death is counted, not logged again.
    await tracker.currentWorker!.terminate();
    expect(tracker.handover.restarts).toBe(2);
    expect(logs).toHaveLength(1);
  });

  it('reads an enforcing tenant on the event loop, synchronously', async () => {
    const { tracker } = offThread();
    const { wire, decoded } = write('up', 0, 100);
    expect(tracker.observe('guarded', decoded, 'prw1', T0, true, wire)).toBe(true);
    expect(Math.abs(tracker.activeSeries('guarded', T0) - 100)).toBeLessThanOrEqual(2);
    const mask = tracker.newSeries('guarded', write('up', 50, 100).decoded, 'prw1', 100, T0);
    expect(mask.reduce((a, b) => a + b, 0)).toBe(50);
    await tracker.sync();
    expect(tracker.workerRead.requests).toBe(0);
  });
});
