// What adaptive protection (docs/protection.md) costs a write on the hot path: one admission and its release
// (enforce, priorities 0..10 mixed, the ceiling half full), and recording one upstream answer; next to the peer
// every forwarded write already pays, a prom-client histogram observe (rls_upstream_request_duration_seconds).
// Usage: npm run bench:adaptive [-- --quick]. Prints one line per case, then one JSON line.

import { cpus } from 'node:os';
import { Histogram, Registry } from 'prom-client';
import { UpstreamProtection } from '../src/decide/adaptive/upstream-protection.js';
import { loadSettings } from '../src/settings/settings.js';
import { runMicro, sinkValue } from './lib/microbench.js';

const quick = process.argv.includes('--quick');
const settings = loadSettings({ ADAPTIVE_PROTECTION: 'enforce', ADAPTIVE_MAX_CEILING: '512' }, []).adaptive;
const protection = new UpstreamProtection(settings, 0);
// Half the ceiling in flight, across priorities, so admit() walks real counts.
for (let i = 0; i < 200; i++) protection.admit(10 - (i % 11), 0);
const registry = new Registry();
const histogram = new Histogram({
  name: 'h',
  help: 'h',
  labelNames: ['status_class'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
}).labels('2xx');

let i = 0;
const results = await runMicro(
  [
    {
      name: 'admit + release',
      run: () => {
        i++;
        const p = i % 11;
        if (protection.admit(p, i) === 'counted') protection.releaseFor[p]!();
        return i;
      },
    },
    {
      name: 'answered',
      run: () => {
        i++;
        protection.answered('write', 3 + (i & 63), 200);
        return i;
      },
    },
    {
      name: 'prom-client observe',
      run: () => {
        i++;
        histogram.observe((3 + (i & 63)) / 1000);
        return i;
      },
    },
  ],
  { warmupMs: quick ? 200 : 1000, roundMs: quick ? 200 : 1000, rounds: quick ? 3 : 7, minIterations: 1000 },
);
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, Node ${process.version}`);
for (const r of results)
  console.log(`${r.name.padEnd(20)} ${(r.medianUs * 1000).toFixed(0).padStart(8)} ns/op`);
console.log(
  JSON.stringify({
    bench: 'adaptive',
    ns: Object.fromEntries(results.map((r) => [r.name, round(r.medianUs * 1000)])),
    sink: sinkValue() > 0,
  }),
);
