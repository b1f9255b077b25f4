// The times of OTLP data points, for Mimir's sample time checks (creation_grace_period, past_grace_period) on the
// series its translation makes of them. The scanners keep cheap bounds (otlpTimeKeys, jsonTimeMs); only a request
// whose bounds cross a grace period has every point's time read (otlp-point-time-verdicts.ts), off the fast path.

import { SAMPLE_KEY_MS } from './sample-times.js';

/** 2^32 ns in ms: one step of the top 32 bits of a time_unix_nano. */
const HI_STEP_MS = 4294.967296;

/**
 * The sample-time keys (ms / 2^14, as remote write's) bounding the points whose time_unix_nano has its top 32 bits
 * between `minHi` and `maxHi`: the earliest point is at least `minSampleTimeKey * 2^14` ms, the latest before
 * `(maxSampleTimeKey + 1) * 2^14` ms (one ms of slack each way for the float products).
 */
export function otlpTimeKeys(
  minHi: number,
  maxHi: number,
): { minSampleTimeKey: number; maxSampleTimeKey: number } {
  const minMs = Math.max(0, Math.floor(minHi * HI_STEP_MS) - 1);
  const maxMs = Math.ceil((maxHi + 1) * HI_STEP_MS) + 1;
  return {
    minSampleTimeKey: Math.floor(minMs / SAMPLE_KEY_MS),
    maxSampleTimeKey: Math.floor(maxMs / SAMPLE_KEY_MS),
  };
}

/**
 * A JSON timeUnixNano's milliseconds (Mimir divides the nanoseconds by 10^6) from its digits in `buf[start, end)`
 * (a string's contents or a number's text), exactly as Go reads a uint64; -1 when they are not plain digits.
 */
export function jsonTimeMs(buf: Uint8Array, start: number, end: number): number {
  if (end <= start) return -1;
  let ms = 0;
  const msEnd = end - 6;
  let i = start;
  for (; i < msEnd; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    ms = ms * 10 + d;
  }
  for (; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
  }
  return ms;
}

/** The sample-time keys of JSON bounds in ms (an unreadable time bounds nothing: 0 and the largest key). */
export function jsonTimeKeys(
  minMs: number,
  maxMs: number,
  unreadable: boolean,
): { minSampleTimeKey: number; maxSampleTimeKey: number } {
  if (unreadable) return { minSampleTimeKey: 0, maxSampleTimeKey: Number.MAX_SAFE_INTEGER };
  return {
    minSampleTimeKey: Math.floor(minMs / SAMPLE_KEY_MS),
    maxSampleTimeKey: Math.floor(maxMs / SAMPLE_KEY_MS),
  };
}

/** Nanoseconds as Mimir turns them into a sample's milliseconds: int64(ns) / 10^6, truncated. */
export function nanosToMs(ns: bigint): number {
  return Number(BigInt.asIntN(64, ns) / 1_000_000n);
}
