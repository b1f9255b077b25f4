// Decodes envoy.service.ratelimit.v3.RateLimitRequest: domain, descriptors (entries, an optional limit
// override and an optional per-descriptor hits_addend) and hits_addend. Unknown fields are skipped; nothing is validated beyond the wire format.

import { ProtoReader } from '../../wire/protobuf-reader.js';
import type { DescriptorEntry } from '../ratelimit-config/index.js';

export interface RequestDescriptor {
  entries: DescriptorEntry[];
  /** RateLimitDescriptor.limit: a limit Envoy supplies itself, overriding the config. */
  limit: { requestsPerUnit: number; unit: number } | undefined;
  /**
   * RateLimitDescriptor.hits_addend (google.protobuf.UInt64Value): when present it replaces the request's
   * hits_addend for this descriptor, and 0 means check without counting. Capped at 2^32 − 1, the range of
   * the request's own hits_addend.
   */
  hitsAddend: number | undefined;
}

export interface DecodedRateLimitRequest {
  domain: string;
  descriptors: RequestDescriptor[];
  /**
   * 0 when absent (callers treat it as 1, as Envoy and envoyproxy/ratelimit do). As sent: the service
   * refuses a value above the uint32 range rather than wrapping it.
   */
  hitsAddend: number;
}

const DOMAIN = (1 << 3) | 2;
const DESCRIPTORS = (2 << 3) | 2;
const HITS_ADDEND = 3 << 3;
const DESCRIPTOR_ENTRIES = (1 << 3) | 2;
const DESCRIPTOR_LIMIT = (2 << 3) | 2;
const DESCRIPTOR_HITS_ADDEND = (3 << 3) | 2;
const WRAPPER_VALUE = 1 << 3;
const MAX_UINT32 = 0xffff_ffff;
const KEY = (1 << 3) | 2;
const VALUE = (2 << 3) | 2;
const OVERRIDE_RPU = 1 << 3;
const OVERRIDE_UNIT = 2 << 3;

function readDescriptor(reader: ProtoReader, end: number): RequestDescriptor {
  const d: RequestDescriptor = { entries: [], limit: undefined, hitsAddend: undefined };
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === DESCRIPTOR_ENTRIES) {
      const stop = reader.messageEnd(end);
      let key = '';
      let value = '';
      while (reader.pos < stop) {
        const t = reader.tag(stop);
        if (t === KEY) key = reader.string(stop);
        else if (t === VALUE) value = reader.string(stop);
        else reader.skip(t, stop);
      }
      d.entries.push({ key, value });
    } else if (tag === DESCRIPTOR_LIMIT) {
      const stop = reader.messageEnd(end);
      const limit = { requestsPerUnit: 0, unit: 0 };
      while (reader.pos < stop) {
        const t = reader.tag(stop);
        if (t === OVERRIDE_RPU) limit.requestsPerUnit = reader.varint(stop);
        else if (t === OVERRIDE_UNIT) limit.unit = reader.varint(stop);
        else reader.skip(t, stop);
      }
      d.limit = limit;
    } else if (tag === DESCRIPTOR_HITS_ADDEND) {
      const stop = reader.messageEnd(end);
      let value = 0;
      while (reader.pos < stop) {
        const t = reader.tag(stop);
        if (t === WRAPPER_VALUE) value = Math.min(reader.varint(stop), MAX_UINT32);
        else reader.skip(t, stop);
      }
      d.hitsAddend = value;
    } else reader.skip(tag, end);
  }
  return d;
}

export function decodeRateLimitRequest(message: Uint8Array): DecodedRateLimitRequest {
  const out: DecodedRateLimitRequest = { domain: '', descriptors: [], hitsAddend: 0 };
  const reader = new ProtoReader(message);
  const end = message.length;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === DOMAIN) out.domain = reader.string(end);
    else if (tag === DESCRIPTORS) out.descriptors.push(readDescriptor(reader, reader.messageEnd(end)));
    // Not wrapped: a value past the uint32 range is refused by the service (INVALID_ARGUMENT).
    else if (tag === HITS_ADDEND) out.hitsAddend = reader.varint(end);
    else reader.skip(tag, end);
  }
  return out;
}
