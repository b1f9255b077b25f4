import { setImmediate as tick } from 'node:timers/promises';
import { ActiveSeries } from '../../src/observe/active-series/active-series.js';
import { OffThreadActiveSeries } from '../../src/observe/active-series/off-thread.js';
import { decompressSnappyBlock } from '../../src/remote-write/index.js';
import { manySeries, snappyBody } from '../../test/helpers/write-request.js';

const body = snappyBody(manySeries(2000, 12));
const decoded = decompressSnappyBlock(body, 50 << 20);
const options = { windowMs: 1200000, maxTenants: 10, sampleEvery: 1, filterMaxBytes: 1 << 20, refreshMs: 10000, queueBytes: 16 << 20 };
const t = new OffThreadActiveSeries(options, { main: new ActiveSeries(options), redis: undefined, now: Date.now,
  log: (l, m, e) => console.log('LOG', l, m, e),
  entry: { url: new URL('../lib/ring-drain-worker.ts', import.meta.url), tsx: true } });
await new Promise((r) => setTimeout(r, 500));
for (let round = 0; round < 3; round++) {
  let total = 0; let n = 0;
  const end = performance.now() + 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) { const s = performance.now(); t.observe('b', decoded, 'prw1', Date.now(), false, body); total += performance.now() - s; n++; }
    await tick();
  }
  console.log('us/op', (total / n * 1000).toFixed(2), 'n', n, JSON.stringify(t.handover), 'queued', t.queuedBytes);
}
await t.close();
