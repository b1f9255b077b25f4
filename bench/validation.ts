// What Mimir's series validation costs the edge (issue 17), on the ingest benchmark's body (2,000 series x 12
// labels, one sample each): the one-pass scans (which bound sample times and flag non-ASCII RW2 symbols), the
// exact pass that reads every series' names and values (what `exact_validation: always` runs on every request),
// and the sample-time pass (what a request whose times cross a grace period gets). Each figure is this process's
// CPU time per operation, the least over short batches (a shared machine disturbs it less than wall time).
// Usage: npm run bench:validation

import { loadavg, cpus } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

import {
  filterSeries,
  sampleTimeVerdicts,
  scanWriteRequest,
  scanWriteRequestV2,
} from '../src/remote-write/index.js';
import type { SeriesRules } from '../src/remote-write/index.js';
import { encodeRw2, rw2Request } from '../test/helpers/rw2-request.js';
import { encodeWriteRequest, manySeries, writeRequest } from '../test/helpers/write-request.js';

const series = manySeries(2000, 12);
const rw1 = encodeWriteRequest(writeRequest(series));
const rw2 = encodeRw2(rw2Request(series));
const rw1Info = scanWriteRequest(rw1, rw1.length);
const rw2Info = scanWriteRequestV2(rw2, rw2.length);
// Mimir's default limits, names validated by the legacy scheme.
const rules: SeriesRules = {
  maxLabelNames: 30,
  maxLabelNamesPerInfoSeries: 80,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
  exemplarsCharged: false,
  maxExemplarsPerSeries: 0,
  nameScheme: 'legacy',
};
const now = Date.now();

const cases: { name: string; run: () => number }[] = [
  { name: 'rw1 scan', run: () => scanWriteRequest(rw1, rw1.length).floatSamples },
  { name: 'rw1 exact pass (names)', run: () => filterSeries(rw1, rw1Info, rules).kept.series },
  {
    name: 'rw1 sample-time pass',
    run: () => sampleTimeVerdicts(rw1, 'prw1', 2000, now, -Infinity).verdict.length,
  },
  { name: 'rw2 scan', run: () => scanWriteRequestV2(rw2, rw2.length).floatSamples },
  { name: 'rw2 exact pass (names)', run: () => filterSeries(rw2, rw2Info, rules).kept.series },
];

let sink = 0;
async function cpuUsPerOp(run: () => number, batches: number): Promise<number> {
  const t0 = performance.now();
  sink += run();
  const perBatch = Math.max(1, Math.floor(5 / Math.max(performance.now() - t0, 0.01)));
  let best = Infinity;
  for (let b = 0; b < batches; b++) {
    const start = process.cpuUsage();
    for (let i = 0; i < perBatch; i++) sink += run();
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / perBatch);
    await yieldToEventLoop();
  }
  return best;
}

// Warm every case, then measure them round-robin so drift spreads evenly.
for (const c of cases) await cpuUsPerOp(c.run, 20);
const best = new Map<string, number>(cases.map((c) => [c.name, Infinity]));
for (let round = 0; round < 5; round++) {
  for (const c of cases) best.set(c.name, Math.min(best.get(c.name)!, await cpuUsPerOp(c.run, 40)));
}
const us = (name: string): number => best.get(name)!;
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, Node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(`${'case'.padEnd(26)} ${'CPU us/op'.padStart(10)}  x scan`);
for (const c of cases) {
  const scan = us(c.name.startsWith('rw1') ? 'rw1 scan' : 'rw2 scan');
  console.log(
    `${c.name.padEnd(26)} ${us(c.name).toFixed(1).padStart(10)}  ${(us(c.name) / scan).toFixed(2)}`,
  );
}
console.log(
  JSON.stringify({
    bench: 'validation',
    cpu_us: Object.fromEntries(best),
    rw1_exact_pass_vs_scan: us('rw1 exact pass (names)') / us('rw1 scan'),
    rw2_exact_pass_vs_scan: us('rw2 exact pass (names)') / us('rw2 scan'),
    sink: sink !== 0,
  }),
);
