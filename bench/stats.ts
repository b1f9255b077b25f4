// What recording one decision in the time aggregation (src/stats) costs on the hot path, next to the peer
// every request already pays: a prom-client counter increment (cached label child, as EdgeMetrics does).
// Usage: npm run bench:stats [-- --quick]. Prints one line per case, then one JSON line.

import { cpus } from 'node:os';
import { Counter, Registry } from 'prom-client';
import { ALLOWED } from '../src/decision/catalogue.js';
import { DecisionAggregator } from '../src/observe/stats/decision-aggregator.js';
import { runMicro, sinkValue } from './lib/microbench.js';
import { TYPICAL_WRITE } from './lib/write-info.js';

const quick = process.argv.includes('--quick');
const TENANTS = 10_000;
const info = TYPICAL_WRITE;
const names = Array.from({ length: TENANTS }, (_, i) => `tenant-${i}`);
const start = Date.now();
const aggregator = new DecisionAggregator(TENANTS, start);
for (const n of names) aggregator.record(n, start, ALLOWED, info, 40);
const registry = new Registry();
const counter = new Counter({ name: 'c', help: 'c', labelNames: ['tenant'] as const, registers: [registry] });
const children = names.map((n) => counter.labels(n));

let i = 0;
let clock = start;
const results = await runMicro(
  [
    {
      name: 'aggregator.record',
      run: () => {
        i = (i + 1) % TENANTS;
        clock += 1;
        aggregator.record(names[i]!, clock, ALLOWED, info, 40);
        return i;
      },
    },
    {
      name: 'prom-client inc',
      run: () => {
        i = (i + 1) % TENANTS;
        children[i]!.inc(500);
        return i;
      },
    },
  ],
  { warmupMs: quick ? 200 : 1000, roundMs: quick ? 200 : 1000, rounds: quick ? 3 : 7, minIterations: 1000 },
);
const us = new Map(results.map((r) => [r.name, r.medianUs]));
const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, Node ${process.version}, ${TENANTS} tenants`,
);
for (const r of results)
  console.log(`${r.name.padEnd(20)} ${(r.medianUs * 1000).toFixed(0).padStart(8)} ns/op`);
console.log(
  JSON.stringify({
    bench: 'stats',
    record_vs_prom_client_inc: round(us.get('aggregator.record')! / us.get('prom-client inc')!, 2),
    ns: Object.fromEntries(results.map((r) => [r.name, round(r.medianUs * 1000, 1)])),
    sink: sinkValue() > 0,
  }),
);
