// What drop_labels and HA deduplication cost per write request, against the plain path and against a peer that
// decodes the body with protobufjs and drops the labels from the decoded objects (what a straightforward
// implementation would do). Body: 2,000 series x 12 labels, RW1, snappy (a large Prometheus batch). Each case
// includes decompression and the scan. Prints a table, then one JSON line.
// Usage: npx tsx bench/mimir-ha.ts [--quick]

import snappy from 'snappy';
import { HaTracker } from '../src/decide/ha-tracker.js';
import { mimirView } from '../src/decide/mimir-rules.js';
import { LIMIT_DEFINITIONS } from '../src/limits/limit-definitions.js';
import type { ResolvedTenant, TenantLimits } from '../src/limits/tenant-limits.js';
import { firstSeriesLabels, measureBody, selectDecoder } from '../src/remote-write/index.js';
import {
  encodeWriteRequest,
  manySeries,
  writeRequest,
  writeRequestType,
} from '../test/helpers/write-request.js';
import { runMicro, sinkValue } from './lib/microbench.js';
import { round } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const series = manySeries(2000, 12).map((s, i) => ({
  labels: { ...s.labels, cluster: 'prom-a', __replica__: 'r1', pod: `pod-${i % 50}` },
  samples: 1,
}));
const body = snappy.compressSync(encodeWriteRequest(writeRequest(series)));
const decoder = selectDecoder('/api/v1/push', 'application/x-protobuf', 'snappy');
if ('unsupported' in decoder) throw new Error(decoder.unsupported);

const defaults = Object.fromEntries(LIMIT_DEFINITIONS.map((d) => [d.name, d.defaultValue])) as TenantLimits;
const tenant = (limits: Partial<Record<string, unknown>>): ResolvedTenant => ({
  limits: { ...defaults, ...limits } as TenantLimits,
  enforcement: { enabled: true, limits: {} },
  hasOverrides: true,
});
const plain = tenant({});
// Every series has 15 labels. Within the limit the scan's bound decides alone; at 14, only dropping one label
// keeps the series, which takes the exact per-series pass.
const dropWithin = tenant({ drop_labels: Object.freeze(['pod']) });
const dropOver = tenant({ drop_labels: Object.freeze(['pod']), max_label_names_per_series: 14 });
const ha = tenant({ accept_ha_samples: 1, max_label_names_per_series: 14 });
const tracker = new HaTracker();
let now = 0;

const cases = [
  {
    name: 'plain (scan, no per-series pass)',
    run: () => {
      const m = measureBody(decoder, body, 64 << 20);
      return mimirView(plain, m, false) ? 1 : m.info.series;
    },
  },
  {
    name: 'drop_labels, bound within the limit (scan only)',
    run: () => {
      const m = measureBody(decoder, body, 64 << 20);
      return mimirView(dropWithin, m, false)?.info.maxLabelNames ?? 0;
    },
  },
  {
    name: 'drop_labels, bound over the limit (exact pass)',
    run: () => {
      const m = measureBody(decoder, body, 64 << 20);
      return mimirView(dropOver, m, false)?.info.maxLabelNames ?? 0;
    },
  },
  {
    name: 'HA elected, replica label at the limit (exact pass)',
    run: () => {
      const m = measureBody(decoder, body, 64 << 20);
      const pair = firstSeriesLabels(m.decoded, m.info.format, 'cluster', '__replica__')!;
      const v = tracker.elect({
        tenant: 't',
        cluster: pair.first,
        replica: pair.second,
        nowMs: now++,
        failoverTimeoutMs: 30_000,
        maxClusters: 100,
      });
      return v.kind === 'accept' ? (mimirView(ha, m, false, '__replica__')?.info.series ?? 0) : 0;
    },
  },
  {
    name: 'peer: protobufjs decode + drop labels',
    run: () => {
      const req = writeRequestType.decode(snappy.uncompressSync(body) as Buffer) as unknown as {
        timeseries: { labels: { name: string; value: string }[] }[];
      };
      let most = 0;
      for (const ts of req.timeseries) {
        const kept = ts.labels.filter((l) => l.name !== 'pod' && l.value !== '');
        if (kept.length > most) most = kept.length;
      }
      return most;
    },
  },
];

const results = await runMicro(cases, {
  warmupMs: quick ? 200 : 1000,
  roundMs: quick ? 200 : 1000,
  rounds: quick ? 3 : 7,
  minIterations: 5,
});
const base = results[0]!.medianUs;
const peer = results[results.length - 1]!.medianUs;
console.log('case'.padEnd(52), 'median µs', 'vs plain', 'vs peer');
for (const r of results) {
  console.log(
    r.name.padEnd(52),
    String(round(r.medianUs, 1)).padStart(9),
    `${round(r.medianUs / base, 2)}x`.padStart(8),
    `${round(r.medianUs / peer, 2)}x`.padStart(7),
  );
}
console.log(
  JSON.stringify({
    bench: 'mimir-ha',
    series: series.length,
    bytes: body.length,
    median_us: Object.fromEntries(results.map((r) => [r.name, round(r.medianUs, 1)])),
    sink: sinkValue() % 7,
  }),
);
