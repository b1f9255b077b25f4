// What Mimir's distributor sees of an OTLP request once translated to series, for the two rules that read
// labels: the HA tracker (cluster and replica labels of the first series) and drop_labels (labels removed before
// validation, so they neither count nor get checked). Only tenants with accept_ha_samples or drop_labels get
// here, and the label-extremes pass only when the scan's bounds are over a limit: the one-pass scanners
// (otlp-proto-scanner.ts, otlp-json-scanner.ts) stay as they are. Throws only BodyDecodeError.

import { describeLabels } from './describe-series.js';
import type { OtlpLabel, OtlpSeries } from './otlp-describe-series.js';
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
import type { DropSpec, InfoLabelLimits, InfoSeriesOver, SeriesRecorder } from './otlp-proto-drop-pass.js';
import {
  infoPointLabels,
  infoSeriesLabels,
  otlpProtoLabelExtremes,
  translatedEndsInInfo,
} from './otlp-proto-drop-pass.js';
import { OTLP_HISTOGRAM, OTLP_SUMMARY, TARGET_INFO, walkOtlpProto } from './otlp-describe-series.js';
import type { RequestInfo, WriteFormat } from './request-info.js';
import { noExtremes, observeExtremes } from './request-info.js';
import { nanosToMs } from './otlp-point-times.js';
import type { OtelTranslation } from './otlp-metric-name.js';
import { otlpNameType, translatedOtlpName } from './otlp-metric-name.js';

const encoder = new TextEncoder();

/** The longest suffix the translation appends to a metric name of each kind, as the scanners count it. */
const NAME_SUFFIX_LENGTH = [0, 0, '_bucket'.length, 0, '_count'.length] as const;
const METRIC_NAME = '__name__';

/**
 * The label name Mimir's translation gives an attribute key (its default, legacy name validation: Prometheus'
 * underscore escaping): every character outside `[A-Za-z0-9_]` becomes `_`, and a leading digit gets `key_`.
 */
export function otlpLabelName(key: string): string {
  const known = translatedNames.get(key);
  if (known !== undefined) return known;
  let name = key.replace(/[^A-Za-z0-9_]/gu, '_');
  if (name.length > 0 && name.charCodeAt(0) >= 0x30 && name.charCodeAt(0) <= 0x39) name = `key_${name}`;
  // Attribute keys repeat on every point: translate each once (bounded, keys are client data).
  if (translatedNames.size >= 4096) translatedNames.clear();
  translatedNames.set(key, name);
  return name;
}
const translatedNames = new Map<string, string>();

/** A dropped-name set (and promoted attribute list) as the protobuf pass tests it, made once per pair. */
const dropSpecs = new WeakMap<ReadonlySet<string>, WeakMap<readonly string[], DropSpec>>();
const NOTHING_PROMOTED: readonly string[] = Object.freeze([]);
function dropSpecOf(
  dropped: ReadonlySet<string>,
  promoted: readonly string[] = NOTHING_PROMOTED,
  translation?: OtelTranslation,
): DropSpec {
  const spec = dropSpecFor(dropped, promoted);
  return translation === undefined ? spec : { ...spec, translation };
}
function dropSpecFor(dropped: ReadonlySet<string>, promoted: readonly string[]): DropSpec {
  let byPromoted = dropSpecs.get(dropped);
  if (!byPromoted) {
    byPromoted = new WeakMap();
    dropSpecs.set(dropped, byPromoted);
  }
  let spec = byPromoted.get(promoted);
  if (!spec) {
    spec = {
      names: [...dropped].map((n) => encoder.encode(n)),
      metricName: dropped.has(METRIC_NAME),
      job: dropped.has('job'),
      instance: dropped.has('instance'),
      le: dropped.has('le'),
      quantile: dropped.has('quantile'),
      promoted: promoted.map((n) => encoder.encode(n)),
    };
    byPromoted.set(promoted, spec);
  }
  return spec;
}

/** Walks a decompressed OTLP body of either encoding, series by series, in the scanners' ordinal order. */
export function walkOtlpSeries(
  buf: Uint8Array,
  format: WriteFormat,
  want: (ordinal: number) => boolean,
  visit: (series: OtlpSeries) => boolean,
): number {
  if (format === 'otlp-proto') return walkOtlpProto(buf, want, visit);
  if (format === 'otlp-json') return walkOtlpJson(buf, want, visit);
  throw new RangeError(`OTLP series walk reads OTLP only, not ${format}`);
}

/**
 * The values of the labels named `firstName` and `secondName` on the first series Mimir's translation emits
 * (the first point of a kept metric: a resource's target_info always follows its points), '' for a label the
 * series lacks; undefined when the request translates to no series. The series' labels are the point's
 * attributes (names as otlpLabelName gives them) and job/instance from the resource, which win over attributes
 * of the same name. Other resource attributes are not promoted (Mimir's default), so they never match.
 */
export function otlpFirstSeriesLabels(
  buf: Uint8Array,
  format: WriteFormat,
  firstName: string,
  secondName: string,
  promoted: readonly string[] = NOTHING_PROMOTED,
): { first: string; second: string } | undefined {
  let found: { first: string; second: string } | undefined;
  walkOtlpSeries(
    buf,
    format,
    () => true,
    (s) => {
      if (s.kind === TARGET_INFO) return false;
      const out = { first: '', second: '' };
      const set = new Set<string>();
      const take = (name: string, l: OtlpLabel): void => {
        set.add(name);
        if (name === firstName) out.first = textOf(l);
        else if (name === secondName) out.second = textOf(l);
      };
      for (const l of s.attributes) take(otlpLabelName(l.name), l);
      // Promoted resource attributes go where no point attribute set the label; job and instance win over both.
      for (const l of s.resourceAttributes ?? []) {
        const name = otlpLabelName(l.name);
        if (promoted.includes(l.name) && !set.has(name)) take(name, l);
      }
      for (const l of s.resource) take(l.name, l);
      found = out;
      return true;
    },
  );
  return found;
}

/**
 * `measured` with its label extremes (count, longest name, longest value, and the ordinals holding them)
 * recounted without the labels named in `dropped`, exactly as the scanners count them otherwise: Mimir's
 * drop_labels and the HA replica label are removed before validation. Only the extremes change; samples,
 * series and the rest are as measured.
 */
export function otlpLabelExtremes(
  buf: Uint8Array,
  measured: RequestInfo,
  dropped: ReadonlySet<string>,
  infoLimits?: InfoLabelLimits,
  promoted: readonly string[] = NOTHING_PROMOTED,
  translation?: OtelTranslation,
): RequestInfo & { infoOver?: InfoSeriesOver } {
  if (measured.format === 'otlp-proto') {
    const spec = dropSpecOf(dropped, promoted, translation);
    return { ...measured, ...otlpProtoLabelExtremes(buf, spec, infoLimits) };
  }
  const x = noExtremes();
  let infoOver: InfoSeriesOver | undefined;
  const record: SeriesRecorder = (ordinal, labels, nameLength, valueLength, overInfo) => {
    if (overInfo) infoOver ??= { ordinal, labels };
    observeExtremes(x, ordinal, labels, nameLength, valueLength);
  };
  otlpJsonSeriesLabels(buf, dropped, infoLimits, record, promoted, translation);
  return infoOver ? { ...measured, ...x, infoOver } : { ...measured, ...x };
}

/** otlpProtoSeriesLabels for an OTLP/JSON body, series by series in walkOtlpJson's order. */
export function otlpJsonSeriesLabels(
  buf: Uint8Array,
  dropped: ReadonlySet<string>,
  infoLimits: InfoLabelLimits | undefined,
  record: SeriesRecorder,
  promoted: readonly string[] = NOTHING_PROMOTED,
  translation?: OtelTranslation,
): void {
  const keepName = !dropped.has(METRIC_NAME);
  const translated = translation !== undefined;
  walkOtlpSeries(
    buf,
    'otlp-json',
    () => true,
    (s) => {
      if (!s.emitted) return false;
      let labels = 0;
      let nameLength = 0;
      let valueLength = 0;
      const take = (nameBytes: number, value: number): void => {
        labels++;
        if (nameBytes > nameLength) nameLength = nameBytes;
        if (value > valueLength) valueLength = value;
      };
      // The name Mimir writes under the tenant's strategy (without one, the name as sent, as the scanners measure it).
      const name =
        translated && s.kind !== TARGET_INFO
          ? translatedOtlpName(
              encoder.encode(s.metricName),
              encoder.encode(s.unit ?? ''),
              otlpNameType(s.kind, s.monotonic === true),
              translation,
            )
          : undefined;
      if (keepName) {
        const nameValue =
          s.kind === TARGET_INFO
            ? 'target_info'.length
            : (name?.length ?? encoder.encode(s.metricName).length) +
              NAME_SUFFIX_LENGTH[s.kind as 0 | 1 | 2 | 3 | 4];
        take(METRIC_NAME.length, nameValue);
      }
      // Keys translating to one name are one label, their distinct values joined with `;`; a key translating to a
      // label the translation sets itself gives way to it (otlp-label-merge.ts).
      const fixed = new Set([METRIC_NAME]);
      for (const l of s.resource) fixed.add(l.name);
      if (s.kind === OTLP_HISTOGRAM) fixed.add('le');
      else if (s.kind === OTLP_SUMMARY && s.quantiles > 0) fixed.add('quantile');
      const merged = new Map<string, { nameBytes: number; values: string[]; length: number }>();
      for (const l of s.attributes) {
        const name = otlpLabelName(l.name);
        if (dropped.has(name) || fixed.has(name)) continue;
        const text = textOf(l);
        const label = merged.get(name);
        if (label === undefined)
          merged.set(name, { nameBytes: utf8Length(l.name), values: [text], length: l.valueLength });
        else if (!(label.values.length === 1 && label.values[0] === text)) {
          label.values.push(text);
          label.length += 1 + l.valueLength;
        }
      }
      // Promoted resource attributes go where no attribute set the label (points only: target_info has them all).
      if (s.kind !== TARGET_INFO) {
        for (const l of s.resourceAttributes ?? []) {
          const name = otlpLabelName(l.name);
          if (!promoted.includes(l.name) || dropped.has(name) || fixed.has(name) || merged.has(name))
            continue;
          merged.set(name, { nameBytes: utf8Length(l.name), values: [textOf(l)], length: l.valueLength });
        }
      }
      for (const label of merged.values()) take(label.nameBytes, label.length);
      for (const l of s.resource) if (!dropped.has(l.name)) take(l.name.length, l.valueLength);
      // le and quantile carry bucket bounds and quantiles; the scanners count them but not their values.
      const extra =
        s.kind === OTLP_HISTOGRAM ? 'le' : s.kind === OTLP_SUMMARY && s.quantiles > 0 ? 'quantile' : '';
      if (extra !== '' && !dropped.has(extra)) {
        labels++;
        if (extra.length > nameLength) nameLength = extra.length;
      }
      // target_info is an info series: held to max_label_names_per_info_series once over the per-series limit.
      let overInfo = false;
      if (s.kind === TARGET_INFO && keepName) {
        const seen = infoSeriesLabels(infoLimits, labels);
        if (seen < 0) overInfo = true;
        else labels = seen;
      } else if (keepName) {
        // A metric named *_info makes info series too (see infoPointLabels).
        const sent = name === undefined ? encoder.encode(s.metricName) : undefined;
        if (name?.info ?? translatedEndsInInfo(sent!, 0, sent!.length)) {
          const seen = infoPointLabels(infoLimits, s.kind, s.quantiles, labels, !dropped.has('quantile'));
          if (seen < 0) overInfo = true;
          else labels = seen;
        }
      }
      record(s.ordinal, labels, nameLength, valueLength, overInfo);
      return false;
    },
  );
}

/**
 * Each translated series of a decompressed OTLP protobuf body, told to `record` with its label count and lengths
 * without the labels in `dropped` (as otlpLabelExtremes counts them): the per-series verdicts of OTLP partial
 * acceptance.
 */
export function otlpProtoSeriesLabels(
  buf: Uint8Array,
  dropped: ReadonlySet<string>,
  infoLimits: InfoLabelLimits | undefined,
  record: SeriesRecorder,
  promoted: readonly string[] = NOTHING_PROMOTED,
  translation?: OtelTranslation,
): void {
  otlpProtoLabelExtremes(buf, dropSpecOf(dropped, promoted, translation), infoLimits, record);
}

/**
 * The series at `ordinal` as a label-limit message names it, without the labels in `dropped` (Mimir names the
 * series as it validated it). Error path only.
 */
export function describeOtlpSeriesWithout(
  buf: Uint8Array,
  format: WriteFormat,
  ordinal: number,
  dropped: ReadonlySet<string>,
): string {
  let text: string | undefined;
  const count = walkOtlpSeries(
    buf,
    format,
    (n) => n === ordinal,
    (s) => {
      const labels = [
        ...(dropped.has(METRIC_NAME) ? [] : [label(METRIC_NAME, s.metricName)]),
        ...s.attributes.filter((l) => !dropped.has(otlpLabelName(l.name))),
        ...s.resource.filter((l) => !dropped.has(l.name)),
      ].map((l) => {
        if (l.text === undefined) return l;
        const bytes = encoder.encode(l.text);
        return { name: l.name, buf: bytes, start: 0, end: bytes.length };
      });
      text = describeLabels(labels);
      return true;
    },
  );
  if (text === undefined) {
    throw new RangeError(`series ${ordinal} does not exist: the body has ${count} series ordinals`);
  }
  return text;
}

function textOf(l: OtlpLabel): string {
  return l.text ?? new TextDecoder('utf-8').decode(l.buf.subarray(l.start, l.end));
}

/** UTF-8 byte length of a string without encoding it. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 4 bytes for 2 UTF-16 units
      i++;
    } else n += 2; // 3 bytes, a lone surrogate (U+FFFD) included
  }
  return n;
}

// ---- OTLP/JSON: parsed whole (this path is opt-in and never the scan), walked in the scanner's order. ----

const KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;
const SNAKE_KINDS = ['gauge', 'sum', 'histogram', 'exponential_histogram', 'summary'] as const;

function walkOtlpJson(
  buf: Uint8Array,
  want: (ordinal: number) => boolean,
  visit: (series: OtlpSeries) => boolean,
): number {
  const root = parseOtlpJson(buf);
  let ordinal = 0;
  for (const rm of list(root, 'resourceMetrics', 'resource_metrics')) {
    const resource = optionalObject(rm, 'resource', 'resource');
    const resourceLabels: OtlpLabel[] = [];
    const others: OtlpLabel[] = [];
    const resourceAttributes: OtlpLabel[] = [];
    let name: OtlpLabel | undefined;
    let namespace: OtlpLabel | undefined;
    for (const kv of resource ? list(resource, 'attributes', 'attributes') : []) {
      const l = keyValue(kv);
      resourceAttributes.push(l);
      if (l.name === 'service.name') name = l;
      else if (l.name === 'service.namespace') namespace = l;
      else if (l.name === 'service.instance.id') resourceLabels.push({ ...l, name: 'instance' });
      else others.push(l);
    }
    if (name) {
      const job = label('job', namespace ? `${textOf(namespace)}/${textOf(name)}` : textOf(name));
      job.valueLength = namespace ? namespace.valueLength + 1 + name.valueLength : name.valueLength;
      resourceLabels.unshift(job);
    }
    let points = 0;
    for (const sm of list(rm, 'scopeMetrics', 'scope_metrics')) {
      for (const metric of list(sm, 'metrics', 'metrics')) {
        const metricName = optionalString(metric, 'name');
        const unit = optionalString(metric, 'unit');
        for (let kind = 0; kind < KINDS.length; kind++) {
          const data = optionalObject(metric, KINDS[kind]!, SNAKE_KINDS[kind]!);
          if (!data || !kindIsKept(kind, data)) continue;
          const monotonic = kind === 1 && (data['isMonotonic'] ?? data['is_monotonic']) === true;
          for (const point of list(data, 'dataPoints', 'data_points')) {
            points++;
            const at = ordinal++;
            if (!want(at)) continue;
            const series: OtlpSeries = {
              ordinal: at,
              kind,
              metricName,
              unit,
              monotonic,
              attributes: list(point, 'attributes', 'attributes').map(keyValue),
              resource: resourceLabels,
              resourceAttributes,
              quantiles: kind === OTLP_SUMMARY ? list(point, 'quantileValues', 'quantile_values').length : 0,
              timeMs: jsonPointTimeMs(point),
              emitted: true,
            };
            if (visit(series)) return ordinal;
          }
        }
      }
    }
    const at = ordinal++;
    if (want(at)) {
      const series: OtlpSeries = {
        ordinal: at,
        kind: TARGET_INFO,
        metricName: 'target_info',
        attributes: others,
        resource: resourceLabels,
        quantiles: 0,
        emitted: others.length > 0 && points > 0,
      };
      if (visit(series)) return ordinal;
    }
  }
  return ordinal;
}

/** A JSON point's timeUnixNano (a string or a number of nanoseconds) in ms; 0 when absent or not an integer. */
function jsonPointTimeMs(point: JsonObject): number {
  const raw = point['timeUnixNano'] ?? point['time_unix_nano'];
  if (typeof raw !== 'string' && typeof raw !== 'number') return 0;
  try {
    return nanosToMs(BigInt(raw));
  } catch {
    return 0;
  }
}

function keyValue(kv: JsonObject): OtlpLabel {
  const name = keyOf(kv);
  const value = kv['value'];
  return { ...anyValue(isObject(value) ? value : {}), name };
}

/**
 * An AnyValue as its label text, with the value length the JSON scanner measures: a string value (camelCase
 * first) wins wherever it sits; otherwise the first field set decides: `true`/`false`, a number's decimal form
 * (int64 strings as written), bytes as their base64 text, an array or a map as its JSON text.
 */
function anyValue(value: JsonObject): OtlpLabel {
  const camel = value['stringValue'];
  if (typeof camel === 'string') return label('', camel);
  const snake = value['string_value'];
  if ((camel === undefined || camel === null) && typeof snake === 'string') return label('', snake);
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue;
    if (key === 'stringValue' || key === 'string_value' || key === 'bytesValue' || key === 'bytes_value') {
      if (typeof v !== 'string') throw invalidJson(`${key} is not a string`);
      return label('', v);
    }
    if (key === 'boolValue' || key === 'bool_value') return label('', v === true ? 'true' : 'false');
    if (key === 'intValue' || key === 'int_value' || key === 'doubleValue' || key === 'double_value') {
      if (typeof v !== 'string' && typeof v !== 'number') throw invalidJson(`${key} is not a number`);
      return label('', String(v));
    }
    if (key === 'arrayValue' || key === 'array_value' || key === 'kvlistValue' || key === 'kvlist_value') {
      try {
        return label('', JSON.stringify(v));
      } catch {
        throw invalidJson(`${key} is nested too deeply`);
      }
    }
  }
  return label('', '');
}

const NO_BYTES = new Uint8Array(0);
/** A JSON label keeps its text; describe turns it into bytes only when a message needs it. */
function label(name: string, value: string): OtlpLabel {
  return { name, buf: NO_BYTES, start: 0, end: 0, valueLength: utf8Length(value), text: value };
}
