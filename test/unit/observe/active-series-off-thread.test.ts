// The active-series worker (src/observe/active-series/off-thread.ts, active-series-worker.ts): the estimate it
// keeps is the in-thread tracker's on the same writes; a full queue drops and counts instead of blocking; a worker
// that dies is restarted while writes keep passing.

import { afterEach, describe, expect, it } from 'vitest';
import { ActiveSeries } from '../../../src/observe/active-series/active-series.js';
import type { ActiveSeriesOptions } from '../../../src/observe/active-series/active-series.js';
import { OffThreadActiveSeries } from '../../../src/observe/active-series/off-thread.js';
import type { OffThreadDeps } from '../../../src/observe/active-series/off-thread.js';
import { decompressSnappyBlock } from '../../../src/remote-write/index.js';
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
});
