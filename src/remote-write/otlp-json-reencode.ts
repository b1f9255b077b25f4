// Re-encodes a decompressed OTLP/JSON body without the data points Mimir's per-series rules refuse, for OTLP
// partial acceptance. The text is never parsed into values and written back (that would change how numbers such
// as a 19-digit timeUnixNano are written): the arrays that lose elements are rebuilt from the original bytes of
// the elements they keep, and every other byte is copied. Points are numbered as walkOtlpJson numbers them
// (otlp-series-labels.ts): the fields JSON.parse would give (camelCase unless null, else snake_case; the scanner
// has already refused a field given twice), the metric kinds in a fixed order, and each resource's target_info
// after its points. Error path only.

import { JsonCursor } from './json-cursor.js';
import { invalidJson } from './otlp-json-objects.js';
import type { OtlpReencoded } from './otlp-proto-reencode.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A JSON value's byte range in the body. */
interface Range {
  start: number;
  end: number;
}

/** What a rebuilt value became: its new bytes (undefined: unchanged), points kept in it, whether it lost any. */
interface Rebuilt {
  bytes?: Uint8Array;
  kept: number;
  dropped: boolean;
}

const KINDS = [
  ['gauge', 'gauge'],
  ['sum', 'sum'],
  ['histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram'],
  ['summary', 'summary'],
] as const;

/** `buf` without the points whose entry in `keep` is 0 (ordinals as walkOtlpJson gives them). */
export function reencodeOtlpJson(buf: Uint8Array, keep: Uint8Array): OtlpReencoded {
  const pass = new JsonReencode(buf, keep);
  const root = pass.members({ start: pass.cursor.pos, end: buf.length });
  const rms = pass.effective(root, 'resourceMetrics', 'resource_metrics');
  if (!rms || pass.isNull(rms)) return { body: buf, points: 0, refusedTargetInfos: 0 };
  const rebuilt = pass.array(rms, (r) => pass.resourceMetrics(r), true);
  const body = rebuilt.bytes ? splice(buf, rms, rebuilt.bytes) : buf;
  return { body, points: rebuilt.kept, refusedTargetInfos: pass.refusedTargetInfos };
}

class JsonReencode {
  readonly cursor: JsonCursor;
  ordinal = 0;
  refusedTargetInfos = 0;

  constructor(
    readonly buf: Uint8Array,
    readonly keep: Uint8Array,
  ) {
    this.cursor = new JsonCursor(buf);
  }

  isNull(r: Range): boolean {
    return this.buf[r.start] === 0x6e; // n(ull)
  }

  /** The members of the object at `r` by decoded key, each the last of its name (as JSON.parse keeps it). */
  members(r: Range): Map<string, Range> {
    const c = this.cursor;
    c.pos = r.start;
    const out = new Map<string, Range>();
    if (c.ws() !== 0x7b) throw invalidJson('expected an object');
    if (!c.openObject()) return out;
    do {
      c.key();
      const name = c.decodedString();
      const start = c.pos;
      c.skipValue();
      out.set(name, { start, end: c.pos });
    } while (c.more(0x7d));
    return out;
  }

  /** The elements of the array at `r`. */
  elements(r: Range): Range[] {
    const c = this.cursor;
    c.pos = r.start;
    const out: Range[] = [];
    if (c.ws() !== 0x5b) throw invalidJson('expected an array');
    if (!c.openArray()) return out;
    do {
      c.ws();
      const start = c.pos;
      c.skipValue();
      out.push({ start, end: c.pos });
    } while (c.more(0x5d));
    return out;
  }

  /**
   * The array at `r` with each element rebuilt by `element`; an element that lost points and keeps none goes.
   * The array itself is dropped when it lost points and keeps none, unless `stays`.
   */
  array(r: Range, element: (e: Range) => Rebuilt, stays = false): Rebuilt {
    const items = this.elements(r);
    const parts: Uint8Array[] = [];
    let kept = 0;
    let dropped = false;
    for (const e of items) {
      const rebuilt = element(e);
      kept += rebuilt.kept;
      if (rebuilt.dropped) dropped = true;
      if (rebuilt.dropped && rebuilt.kept === 0) continue;
      parts.push(rebuilt.bytes ?? this.buf.subarray(e.start, e.end));
    }
    if (!dropped) return { kept, dropped };
    if (kept === 0 && !stays) return { kept, dropped };
    return { bytes: joinArray(parts), kept, dropped };
  }

  /** The object at `r` with the member `child` (a range inside it) replaced by `rebuilt`. */
  withChild(r: Range, child: Range, rebuilt: Rebuilt): Rebuilt {
    if (!rebuilt.dropped) return rebuilt;
    if (rebuilt.kept === 0) return rebuilt;
    const inner = { start: child.start - r.start, end: child.end - r.start };
    return { ...rebuilt, bytes: splice(this.buf.subarray(r.start, r.end), inner, rebuilt.bytes!) };
  }

  resourceMetrics(r: Range): Rebuilt {
    const sms = this.listOf(r, 'scopeMetrics', 'scope_metrics');
    const rebuilt = sms
      ? this.withChild(
          r,
          sms,
          this.array(sms, (s) => this.scopeMetrics(s)),
        )
      : { kept: 0, dropped: false };
    const targetInfo = this.ordinal++;
    if (rebuilt.kept > 0 && this.keep[targetInfo] === 0) this.refusedTargetInfos++;
    return rebuilt;
  }

  scopeMetrics(r: Range): Rebuilt {
    const metrics = this.listOf(r, 'metrics', 'metrics');
    if (!metrics) return { kept: 0, dropped: false };
    return this.withChild(
      r,
      metrics,
      this.array(metrics, (m) => this.metric(m)),
    );
  }

  metric(r: Range): Rebuilt {
    const m = this.members(r);
    // Rebuild each kind's data in walkOtlpJson's order; splice them back in body order.
    const changes: { range: Range; bytes: Uint8Array }[] = [];
    let kept = 0;
    let dropped = false;
    for (let kind = 0; kind < KINDS.length; kind++) {
      const data = this.effective(m, KINDS[kind]![0], KINDS[kind]![1]);
      if (!data || this.isNull(data)) continue;
      const members = this.members(data);
      const points = this.effective(members, 'dataPoints', 'data_points');
      const counted = kind === 0 || kind === 4 || this.cumulative(members);
      if (!points || this.isNull(points)) continue;
      const rebuilt = this.array(points, () => this.point(counted), true);
      kept += rebuilt.kept;
      if (!rebuilt.dropped) continue;
      dropped = true;
      const inner = { start: points.start - data.start, end: points.end - data.start };
      changes.push({
        range: data,
        bytes: splice(this.buf.subarray(data.start, data.end), inner, rebuilt.bytes!),
      });
    }
    if (!dropped || kept === 0) return { kept, dropped };
    changes.sort((a, b) => a.range.start - b.range.start);
    const parts: Uint8Array[] = [];
    let at = r.start;
    for (const ch of changes) {
      parts.push(this.buf.subarray(at, ch.range.start), ch.bytes);
      at = ch.range.end;
    }
    parts.push(this.buf.subarray(at, r.end));
    return { bytes: concat(parts), kept, dropped };
  }

  point(counted: boolean): Rebuilt {
    if (!counted || this.keep[this.ordinal++] !== 0) return { kept: 1, dropped: false };
    return { kept: 0, dropped: true };
  }

  /** As kindIsKept reads aggregationTemporality. */
  cumulative(members: Map<string, Range>): boolean {
    const t = this.effective(members, 'aggregationTemporality', 'aggregation_temporality');
    if (!t) return false;
    const value: unknown = JSON.parse(decoder.decode(this.buf.subarray(t.start, t.end)));
    return value === 2 || value === '2' || value === 'AGGREGATION_TEMPORALITY_CUMULATIVE';
  }

  /** `obj[camel] ?? obj[snake]` as JSON.parse would give it: the camelCase member unless absent or null. */
  effective(members: Map<string, Range>, camel: string, snake: string): Range | undefined {
    const first = members.get(camel);
    if (first && !this.isNull(first)) return first;
    return members.get(snake) ?? first;
  }

  /** The effective list field of the object at `r` (undefined when absent or null). */
  listOf(r: Range, camel: string, snake: string): Range | undefined {
    const list = this.effective(this.members(r), camel, snake);
    return list && !this.isNull(list) ? list : undefined;
  }
}

function splice(buf: Uint8Array, r: Range, bytes: Uint8Array): Uint8Array {
  return concat([buf.subarray(0, r.start), bytes, buf.subarray(r.end)]);
}

function joinArray(parts: Uint8Array[]): Uint8Array {
  const out: Uint8Array[] = [encoder.encode('[')];
  parts.forEach((p, i) => {
    if (i > 0) out.push(encoder.encode(','));
    out.push(p);
  });
  out.push(encoder.encode(']'));
  return concat(out);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
