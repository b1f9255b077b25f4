// Encodes envoy.service.ratelimit.v3.RateLimitResponse: the overall code, one DescriptorStatus per request
// descriptor (code, current_limit, limit_remaining, duration_until_reset), optional response headers and
// optional dynamic_metadata (a google.protobuf.Struct).

import { WireWriter } from '../../wire/protobuf-writer.js';

export const RateLimitCode = { UNKNOWN: 0, OK: 1, OVER_LIMIT: 2 } as const;

export interface DescriptorStatus {
  code: number;
  /** Absent when no limit applies to the descriptor. */
  currentLimit: { requestsPerUnit: number; unit: number; name: string } | undefined;
  limitRemaining: number;
  /** Seconds; 0 is not sent. */
  durationUntilResetSeconds: number;
}

const writer = new WireWriter(512);

/** A JSON-like value as google.protobuf.Value: null, number (double), string, bool, list or struct. */
function writeValue(w: WireWriter, value: unknown): void {
  if (value === null || value === undefined) w.varint(1, 0);
  else if (typeof value === 'number') w.double(2, value);
  else if (typeof value === 'string') w.string(3, value);
  else if (typeof value === 'boolean') w.varint(4, value ? 1 : 0);
  else if (Array.isArray(value)) {
    w.begin(6);
    for (const item of value) {
      w.begin(1);
      writeValue(w, item);
      w.end();
    }
    w.end();
  } else {
    w.begin(5);
    writeStruct(w, value as Readonly<Record<string, unknown>>);
    w.end();
  }
}

/** google.protobuf.Struct: map<string, Value> fields = 1. */
function writeStruct(w: WireWriter, struct: Readonly<Record<string, unknown>>): void {
  for (const key of Object.keys(struct)) {
    w.begin(1).string(1, key).begin(2);
    writeValue(w, struct[key]);
    w.end().end();
  }
}

export function encodeRateLimitResponse(
  overallCode: number,
  statuses: readonly DescriptorStatus[],
  responseHeaders: readonly [string, string][],
  dynamicMetadata?: Readonly<Record<string, unknown>>,
): Buffer {
  const w = writer.reset();
  w.varint(1, overallCode);
  for (const s of statuses) {
    w.begin(2);
    if (s.code !== 0) w.varint(1, s.code);
    const limit = s.currentLimit;
    if (limit !== undefined) {
      w.begin(2);
      if (limit.requestsPerUnit !== 0) w.varint(1, limit.requestsPerUnit);
      if (limit.unit !== 0) w.varint(2, limit.unit);
      if (limit.name !== '') w.string(3, limit.name);
      w.end();
    }
    if (s.limitRemaining !== 0) w.varint(3, s.limitRemaining);
    if (s.durationUntilResetSeconds > 0) w.begin(4).varint(1, s.durationUntilResetSeconds).end();
    w.end();
  }
  for (const [key, value] of responseHeaders) w.begin(3).string(1, key).string(2, value).end();
  if (dynamicMetadata !== undefined) {
    w.begin(6);
    writeStruct(w, dynamicMetadata);
    w.end();
  }
  return w.finishFramed();
}
