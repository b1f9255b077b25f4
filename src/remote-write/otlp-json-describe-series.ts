// The series at one ordinal of an OTLP/HTTP JSON body, as scanOtlpJson() numbers them, worded for a denial
// (`series: 'name{a="1"}'`). Only runs to word a denial, so it parses the body (otlp-json-objects.ts).

import type { DescribedLabel } from './describe-series.js';
import { describeLabels } from './describe-series.js';
import { KINDS, SNAKE_KINDS } from './otlp-json-fields.js';
import type { JsonObject } from './otlp-json-objects.js';
import {
  invalidJson,
  isObject,
  keyOf,
  kindIsKept,
  list,
  optionalObject,
  optionalString,
  parseOtlpJson,
} from './otlp-json-objects.js';

const encoder = new TextEncoder();
const IDENTIFYING = new Set(['service.name', 'service.namespace', 'service.instance.id']);

/** The series at `ordinal` (as scanOtlpJson() numbers them), as `series: 'name{a="1"}'`. */
export function describeOtlpJsonSeries(buf: Uint8Array, wanted: number): string {
  const root = parseOtlpJson(buf);
  let ordinal = 0;
  for (const rm of list(root, 'resourceMetrics', 'resource_metrics')) {
    const resource = optionalObject(rm, 'resource', 'resource');
    const resourceLabels: DescribedLabel[] = [];
    const others: DescribedLabel[] = [];
    let job = '';
    let namespace: string | undefined;
    let hasJob = false;
    for (const kv of resource ? list(resource, 'attributes', 'attributes') : []) {
      const key = keyOf(kv);
      const text = valueText(kv);
      if (key === 'service.name') {
        job = text;
        hasJob = true;
      } else if (key === 'service.namespace') namespace = text;
      else if (key === 'service.instance.id') resourceLabels.push(label('instance', text));
      else if (!IDENTIFYING.has(key)) others.push(label(key, text));
    }
    if (hasJob) resourceLabels.unshift(label('job', namespace !== undefined ? `${namespace}/${job}` : job));
    for (const sm of list(rm, 'scopeMetrics', 'scope_metrics')) {
      for (const metric of list(sm, 'metrics', 'metrics')) {
        const name = optionalString(metric, 'name');
        for (let kind = 0; kind < KINDS.length; kind++) {
          const data = optionalObject(metric, KINDS[kind]!, SNAKE_KINDS[kind]!);
          if (!data || !kindIsKept(kind, data)) continue;
          for (const point of list(data, 'dataPoints', 'data_points')) {
            if (ordinal++ !== wanted) continue;
            const labels = [label('__name__', name)];
            for (const kv of list(point, 'attributes', 'attributes'))
              labels.push(label(keyOf(kv), valueText(kv)));
            return describeLabels([...labels, ...resourceLabels]);
          }
        }
      }
    }
    if (ordinal++ === wanted)
      return describeLabels([label('__name__', 'target_info'), ...others, ...resourceLabels]);
  }
  throw new RangeError(`series ${wanted} does not exist: the body has ${ordinal} series ordinals`);
}

function valueText(kv: JsonObject): string {
  const value = kv['value'];
  if (!isObject(value)) return '';
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue;
    if (key === 'stringValue' || key === 'string_value' || key === 'bytesValue' || key === 'bytes_value') {
      if (typeof v !== 'string') throw invalidJson(`${key} is not a string`);
      return v;
    }
    if (key === 'boolValue' || key === 'bool_value') return v === true ? 'true' : 'false';
    if (key === 'intValue' || key === 'int_value' || key === 'doubleValue' || key === 'double_value') {
      if (typeof v !== 'string' && typeof v !== 'number') throw invalidJson(`${key} is not a number`);
      return String(v);
    }
    if (key === 'arrayValue' || key === 'array_value' || key === 'kvlistValue' || key === 'kvlist_value') {
      try {
        return JSON.stringify(v);
      } catch {
        throw invalidJson(`${key} is nested too deeply`);
      }
    }
  }
  return '';
}

function label(name: string, value: string): DescribedLabel {
  const bytes = encoder.encode(value);
  return { name, buf: bytes, start: 0, end: bytes.length };
}
