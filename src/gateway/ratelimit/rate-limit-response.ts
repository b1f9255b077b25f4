// Encodes envoy.service.ratelimit.v3.RateLimitResponse: the overall code, one DescriptorStatus per request
// descriptor (code, current_limit, limit_remaining, duration_until_reset) and optional response headers.

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

export function encodeRateLimitResponse(
  overallCode: number,
  statuses: readonly DescriptorStatus[],
  responseHeaders: readonly [string, string][],
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
  return w.finishFramed();
}
