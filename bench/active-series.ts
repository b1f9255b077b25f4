// `npm run bench:active-series`: the figures docs/active-series.md quotes, measured here: the estimate's error
// against exact counts (10^5 to 10^6 series, and a window with churn), the memory one tenant costs at several
// sizes, and the new-series filter's false-positive rate. Prints a table, then one JSON line.

import { HyperLogLog } from '../src/observe/active-series/hyperloglog.js';
import { SlicedSketch } from '../src/observe/active-series/sliced-sketch.js';
import { ActiveSeries } from '../src/observe/active-series/active-series.js';
import { SeenFilter } from '../src/observe/active-series/seen-filter.js';
import { hashSeries } from '../src/remote-write/series-hash.js';
import { encodeWriteRequest, writeRequest } from '../test/helpers/write-request.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const json: Record<string, number> = {};
const lines: string[] = [];

/** RW1 bodies of at most 50,000 series each, `count` series `up{pod="p-<i>", job="api"}` in all. */
function bodiesOf(count: number, from = 0): Buffer[] {
  const bodies: Buffer[] = [];
  const batch = 50_000;
  for (let start = from; start < from + count; start += batch) {
    const size = Math.min(batch, from + count - start);
    bodies.push(
      encodeWriteRequest(
        writeRequest(
          Array.from({ length: size }, (_, i) => ({
            labels: { __name__: 'up', job: 'api', pod: `p-${start + i}` },
          })),
        ),
      ),
    );
  }
  return bodies;
}

/** Real series hashes: the hash pass over those bodies. */
function hashesOf(from: number, count: number): Uint32Array {
  const out = new Uint32Array(count * 2);
  let n = 0;
  for (const body of bodiesOf(count, from)) {
    hashSeries(body, 'prw1', {
      series(hi, lo) {
        out[n++] = hi;
        out[n++] = lo;
      },
    });
  }
  return out;
}

const pct = (estimate: number, exact: number): number => ((estimate - exact) / exact) * 100;

lines.push('estimate vs exact (p = 14, real series hashes)');
const all = hashesOf(0, 1_000_000);
for (const n of [100_000, 300_000, 1_000_000]) {
  const h = new HyperLogLog();
  for (let i = 0; i < n; i++) h.add(all[2 * i]!, all[2 * i + 1]!);
  const e = h.estimate();
  lines.push(`  ${n} distinct series: estimate ${e}, error ${pct(e, n).toFixed(2)}%`);
  json[`error_pct_${n}`] = Number(pct(e, n).toFixed(3));
}

// The churn scenario of test/unit/observe/active-series-sketch.test.ts with real hashes: 300,000 live series, 5%
// replaced every 2-minute slice, 25 slices; the window holds the live ones and those churned within it.
{
  const live = 300_000;
  const churn = live * 0.05;
  const slices = 25;
  const hashes = hashesOf(0, live + churn * slices);
  const sketch = new SlicedSketch(2 * MINUTE, 10);
  for (let s = 0; s < slices; s++)
    for (let id = s * churn; id < s * churn + live; id++)
      sketch.add(hashes[2 * id]!, hashes[2 * id + 1]!, T0 + s * 2 * MINUTE);
  const exact = live + 10 * churn;
  const e = sketch.estimate(T0 + (slices - 1) * 2 * MINUTE);
  lines.push(
    `  churn (300,000 live, 5% replaced per slice): exact ${exact}, estimate ${e}, error ${pct(e, exact).toFixed(2)}%`,
  );
  json.churn_error_pct = Number(pct(e, exact).toFixed(3));
}

lines.push('memory per tenant (every slice of a 20m window holding the series; filter in steady state)');
for (const n of [100, 1_000, 10_000, 100_000, 1_000_000]) {
  const t = new ActiveSeries({
    windowMs: 20 * MINUTE,
    maxTenants: 10,
    sampleEvery: 1,
    filterMaxBytes: 1 << 20,
    refreshMs: 0,
  });
  const bodies = bodiesOf(n);
  for (let s = 0; s < 11; s++) for (const body of bodies) t.observe('t', body, 'prw1', T0 + s * 2 * MINUTE);
  const snap = t.snapshot('t', 0, T0 + 20 * MINUTE)!;
  lines.push(`  ${n} series: ${(snap.memoryBytes / 1024).toFixed(1)} KiB (estimate ${snap.activeSeries})`);
  json[`memory_kib_${n}`] = Number((snap.memoryBytes / 1024).toFixed(1));
}

{
  const filter = new SeenFilter(10 * MINUTE, 1 << 20);
  const n = 200_000;
  for (let i = 0; i < n; i++) filter.add(all[2 * i]!, all[2 * i + 1]!, T0);
  let fp = 0;
  const probes = 200_000;
  for (let i = n; i < n + probes; i++) if (filter.has(all[2 * i]!, all[2 * i + 1]!, T0)) fp++;
  lines.push(
    `new-series filter: ${n} series held in ${(filter.bytes / 1024).toFixed(0)} KiB, false positives ${((fp / probes) * 100).toFixed(2)}% of ${probes} unseen series`,
  );
  json.filter_false_positive_pct = Number(((fp / probes) * 100).toFixed(3));
  json.filter_kib_200000 = Number((filter.bytes / 1024).toFixed(1));
}
process.stdout.write(lines.join('\n') + '\n' + JSON.stringify(json) + '\n');
