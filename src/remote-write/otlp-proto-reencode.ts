// Re-encodes a decompressed OTLP protobuf body (ExportMetricsServiceRequest) without the data points Mimir's
// per-series rules refuse, for OTLP partial acceptance. Points are numbered as the scanner numbers its series
// (otlp-proto-scanner.ts): every point of a gauge, a summary or a cumulative sum/histogram takes the next
// ordinal, and each ResourceMetrics takes one after its points (its target_info). Every field the edge does not
// drop is copied byte for byte in its order; only the lengths of the messages around a dropped point change.
// Error path only (a request with a refused series): one small array per rewritten message is fine here.

import { ProtoReader } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import {
  TAG_DATA_POINTS,
  TAG_EXPONENTIAL_HISTOGRAM,
  TAG_GAUGE,
  TAG_HISTOGRAM,
  TAG_METRICS,
  TAG_RESOURCE_METRICS,
  TAG_SCOPE_METRICS,
  TAG_SUM,
  TAG_SUMMARY,
  TEMPORALITY_CUMULATIVE,
  temporalityOf,
} from './otlp-proto-fields.js';

/** What re-encoding kept. */
export interface OtlpReencoded {
  body: Uint8Array;
  /** Data points left in the body (non-cumulative ones included: Mimir drops those itself, refusing nothing). */
  points: number;
  /**
   * Refused target_info series whose resource still goes upstream (it keeps points): the body cannot leave out a
   * target_info without its resource, so Mimir refuses it once more itself, and it must not be charged.
   */
  refusedTargetInfos: number;
}

/** A message rebuilt from parts (byte ranges of the body or rebuilt children), with its byte length. */
interface Rebuilt {
  parts: Uint8Array[];
  length: number;
  /** Data points kept in it, and whether any was dropped. */
  kept: number;
  dropped: boolean;
}

/**
 * `buf` without the points whose entry in `keep` is 0 (indexed by ordinal; an ordinal past its end is kept).
 * A metric, scope or resource that held points and keeps none goes with them. A refused target_info ordinal
 * does not change the body (see OtlpReencoded.refusedTargetInfos).
 */
export function reencodeOtlpProto(buf: Uint8Array, keep: Uint8Array): OtlpReencoded {
  const pass = new Reencode(buf, keep);
  // The request itself stays, even with no point left (resources that never had one keep their place).
  const root = pass.message(0, buf.length, TAG_RESOURCE_METRICS, (s, e) => pass.resourceMetrics(s, e), true);
  return { body: concat(root), points: root.kept, refusedTargetInfos: pass.refusedTargetInfos };
}

class Reencode {
  readonly reader: ProtoReader;
  ordinal = 0;
  refusedTargetInfos = 0;

  constructor(
    readonly buf: Uint8Array,
    readonly keep: Uint8Array,
  ) {
    this.reader = new ProtoReader(buf, 0, invalidProtobuf);
  }

  /**
   * The message at [start, end) with each occurrence of the length-delimited field `childTag` rebuilt by `child`
   * (dropped when it held points and keeps none); every other field copied as it is. The message itself goes
   * when it lost points and keeps none, unless `stays`.
   */
  message(
    start: number,
    end: number,
    childTag: number,
    child: (s: number, e: number) => Rebuilt,
    stays = false,
  ): Rebuilt {
    const { reader, buf } = this;
    const before = this.kept;
    const out: Rebuilt = { parts: [], length: 0, kept: 0, dropped: false };
    let runStart = start;
    reader.pos = start;
    while (reader.pos < end) {
      const fieldStart = reader.pos;
      const tag = reader.tag(end);
      if (tag !== childTag) {
        reader.skip(tag, end);
        continue;
      }
      const childEnd = reader.messageEnd(end);
      const childStart = reader.pos;
      const rebuilt = child(childStart, childEnd);
      reader.pos = childEnd;
      if (!rebuilt.dropped) continue; // unchanged: stays in the run of copied bytes
      push(out, buf.subarray(runStart, fieldStart));
      runStart = childEnd;
      out.dropped = true;
      if (rebuilt.kept === 0) continue;
      push(out, fieldHeader(tag, rebuilt.length));
      for (const p of rebuilt.parts) push(out, p);
    }
    push(out, buf.subarray(runStart, end));
    if (stays) {
      out.kept = this.kept - before;
      return out;
    }
    return finish(out, this.kept - before);
  }

  resourceMetrics(start: number, end: number): Rebuilt {
    const r = this.message(start, end, TAG_SCOPE_METRICS, (s, e) =>
      this.message(s, e, TAG_METRICS, (ms, me) => this.metric(ms, me)),
    );
    const targetInfo = this.ordinal++;
    if (r.kept > 0 && this.keep[targetInfo] === 0) this.refusedTargetInfos++;
    return r;
  }

  /** Points kept so far in the whole body. */
  kept = 0;

  metric(start: number, end: number): Rebuilt {
    const before = this.kept;
    const { reader, buf } = this;
    const out: Rebuilt = { parts: [], length: 0, kept: 0, dropped: false };
    let runStart = start;
    reader.pos = start;
    while (reader.pos < end) {
      const fieldStart = reader.pos;
      const tag = reader.tag(end);
      const isData =
        tag === TAG_GAUGE ||
        tag === TAG_SUM ||
        tag === TAG_HISTOGRAM ||
        tag === TAG_EXPONENTIAL_HISTOGRAM ||
        tag === TAG_SUMMARY;
      if (!isData) {
        reader.skip(tag, end);
        continue;
      }
      const aggEnd = reader.messageEnd(end);
      const aggStart = reader.pos;
      const counted =
        tag === TAG_GAUGE || tag === TAG_SUMMARY || temporalityOf(reader, aggEnd) === TEMPORALITY_CUMULATIVE;
      const rebuilt = this.aggregate(aggStart, aggEnd, counted);
      reader.pos = aggEnd;
      if (!rebuilt.dropped) continue;
      push(out, buf.subarray(runStart, fieldStart));
      push(out, fieldHeader(tag, rebuilt.length));
      for (const p of rebuilt.parts) push(out, p);
      runStart = aggEnd;
      out.dropped = true;
    }
    push(out, buf.subarray(runStart, end));
    return finish(out, this.kept - before);
  }

  /** An aggregate without its refused points; non-cumulative points have no ordinal and are kept. */
  aggregate(start: number, end: number, counted: boolean): Rebuilt {
    const { reader, buf } = this;
    const out: Rebuilt = { parts: [], length: 0, kept: 0, dropped: false };
    let runStart = start;
    reader.pos = start;
    while (reader.pos < end) {
      const fieldStart = reader.pos;
      const tag = reader.tag(end);
      reader.skip(tag, end);
      if (tag !== TAG_DATA_POINTS) continue;
      if (!counted || this.keep[this.ordinal++] !== 0) {
        this.kept++;
        continue;
      }
      push(out, buf.subarray(runStart, fieldStart));
      runStart = reader.pos;
      out.dropped = true;
    }
    push(out, buf.subarray(runStart, end));
    return out;
  }
}

/** `r` as its parent sees it: dropped whole when it lost points and keeps none. */
function finish(r: Rebuilt, kept: number): Rebuilt {
  r.kept = kept;
  if (r.dropped && kept === 0) return { parts: [], length: 0, kept: 0, dropped: true };
  return r;
}

function push(out: Rebuilt, part: Uint8Array): void {
  if (part.length === 0) return;
  out.parts.push(part);
  out.length += part.length;
}

/** A length-delimited field's tag and length, as varints. */
function fieldHeader(tag: number, length: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = tag; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      bytes.push(v);
      break;
    }
    bytes.push((v % 128) | 0x80);
  }
  for (let v = length; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      bytes.push(v);
      break;
    }
    bytes.push((v % 128) | 0x80);
  }
  return Uint8Array.from(bytes);
}

function concat(r: Rebuilt): Uint8Array {
  const out = new Uint8Array(r.length);
  let at = 0;
  for (const p of r.parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
