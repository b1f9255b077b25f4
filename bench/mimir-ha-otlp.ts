// What drop_labels and the HA lookup cost per OTLP request (protobuf and JSON), against the scan alone and
// against a peer that decodes the whole body (protobufjs, JSON.parse) and drops the attributes from the decoded
// objects. Body: 200 gauges x 10 points x 10 attributes under one resource. Each case includes the scan.
// Prints a table, then one JSON line.
// Usage: npx tsx bench/mimir-ha-otlp.ts [--quick]

import { mimirView } from '../src/decide/mimir-rules.js';
import { LIMIT_DEFINITIONS } from '../src/limits/limit-definitions.js';
import type { ResolvedTenant, TenantLimits } from '../src/limits/tenant-limits.js';
import { firstSeriesLabels, measureBody, selectDecoder } from '../src/remote-write/index.js';
import type { OtlpMetricSpec } from '../test/helpers/otlp-request.js';
import {
  encodeOtlpJson,
  encodeOtlpProto,
  otlpRequest,
  otlpRequestType,
} from '../test/helpers/otlp-request.js';
import { runMicro, sinkValue } from './lib/microbench.js';
import { round } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const metrics: OtlpMetricSpec[] = Array.from({ length: 200 }, (_, m) => ({
  name: `app_metric_${m}`,
  kind: 'gauge',
  points: Array.from({ length: 10 }, (_, p) => ({
    attributes: {
      cluster: 'eu-1',
      __replica__: 'collector-0',
      pod: `pod-${p}`,
      ...Object.fromEntries(Array.from({ length: 7 }, (_, a) => [`attr.${a}`, `value-${m}-${p}-${a}`])),
    },
  })),
}));
const request = otlpRequest([
  { attributes: { 'service.name': 'checkout', 'service.instance.id': 'pod-7' }, metrics },
]);
const bodies = { proto: encodeOtlpProto(request), json: encodeOtlpJson(request) };

const defaults = Object.fromEntries(LIMIT_DEFINITIONS.map((d) => [d.name, d.defaultValue])) as TenantLimits;
const tenant = (limits: Partial<Record<string, unknown>>): ResolvedTenant => ({
  limits: { ...defaults, ...limits } as TenantLimits,
  enforcement: { enabled: true, limits: {} },
  hasOverrides: true,
});
const plain = tenant({});
// Every series has 13 labels (10 attributes, __name__, job, instance). At 12 only dropping `pod` keeps them.
const dropOver = tenant({ drop_labels: Object.freeze(['pod']), max_label_names_per_series: 12 });

type Json = Record<string, unknown>;
function peerDrop(root: Json): number {
  let most = 0;
  for (const rm of root['resourceMetrics'] as Json[]) {
    for (const sm of rm['scopeMetrics'] as Json[]) {
      for (const metric of sm['metrics'] as Json[]) {
        for (const point of (metric['gauge'] as Json)['dataPoints'] as Json[]) {
          const kept = (point['attributes'] as { key: string }[]).filter((a) => a.key !== 'pod');
          if (kept.length > most) most = kept.length;
        }
      }
    }
  }
  return most;
}

const cases = (['proto', 'json'] as const).flatMap((format) => {
  const body = bodies[format];
  const decoder = selectDecoder(
    '/otlp/v1/metrics',
    format === 'proto' ? 'application/x-protobuf' : 'application/json',
    '',
  );
  if ('unsupported' in decoder) throw new Error(decoder.unsupported);
  return [
    {
      name: `${format}: scan only`,
      run: () => {
        const m = measureBody(decoder, body, 64 << 20);
        return mimirView(plain, m, false) ? 1 : m.info.series;
      },
    },
    {
      name: `${format}: scan + HA labels of the first series`,
      run: () => {
        const m = measureBody(decoder, body, 64 << 20);
        return firstSeriesLabels(m.decoded, m.info.format, 'cluster', '__replica__')!.second.length;
      },
    },
    {
      name: `${format}: scan + drop_labels exact pass`,
      run: () => {
        const m = measureBody(decoder, body, 64 << 20);
        return mimirView(dropOver, m, false)?.info.maxLabelNames ?? 0;
      },
    },
    {
      name: `${format}: peer: ${format === 'proto' ? 'protobufjs decode' : 'JSON.parse'} + drop`,
      run: () => {
        const root =
          format === 'proto'
            ? (otlpRequestType.toObject(otlpRequestType.decode(body)) as Json)
            : (JSON.parse(body.toString('utf8')) as Json);
        return peerDrop(root);
      },
    },
  ];
});

const results = await runMicro(cases, {
  warmupMs: quick ? 200 : 1000,
  roundMs: quick ? 200 : 1000,
  rounds: quick ? 3 : 7,
  minIterations: 5,
});
console.log('case'.padEnd(48), 'median µs', 'vs scan', 'vs peer');
for (let i = 0; i < results.length; i++) {
  const r = results[i]!;
  const group = Math.floor(i / 4) * 4;
  const scan = results[group]!.medianUs;
  const peer = results[group + 3]!.medianUs;
  console.log(
    r.name.padEnd(48),
    String(round(r.medianUs, 1)).padStart(9),
    `${round(r.medianUs / scan, 2)}x`.padStart(7),
    `${round(r.medianUs / peer, 2)}x`.padStart(7),
  );
}
console.log(
  JSON.stringify({
    bench: 'mimir-ha-otlp',
    points: 2000,
    bytes: { proto: bodies.proto.length, json: bodies.json.length },
    median_us: Object.fromEntries(results.map((r) => [r.name, round(r.medianUs, 1)])),
    sink: sinkValue() % 7,
  }),
);
