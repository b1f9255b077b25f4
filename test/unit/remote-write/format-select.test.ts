// Checks how a write body's decoder is chosen from path and headers, and that decompression stays bounded.

import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

import {
  BodyDecodeError,
  gunzipBounded,
  isUnsupportedMediaType,
  measureBody,
  selectDecoder,
} from '../../../src/remote-write/index.js';
import { outputChunkBytes } from '../../../src/remote-write/gzip-bounded.js';
import { encodeOtlpJson, encodeOtlpProto, otlpRequest } from '../../helpers/otlp-request.js';
import { RW2_CONTENT_TYPE, rw2SnappyBody } from '../../helpers/rw2-request.js';

const chosen = (path: string, type?: string, encoding?: string): string => {
  const d = selectDecoder(path, type, encoding);
  return isUnsupportedMediaType(d) ? `415 ${d.unsupported}` : `${d.format}/${d.encoding}`;
};

describe('selectDecoder', () => {
  it('follows the remote-write 2.0 negotiation on remote-write paths', () => {
    expect(chosen('/api/v1/push')).toBe('prw1/snappy');
    expect(chosen('/api/v1/push', 'application/x-protobuf', 'snappy')).toBe('prw1/snappy');
    expect(chosen('/api/v1/push', 'application/x-protobuf;proto=prometheus.WriteRequest')).toBe(
      'prw1/snappy',
    );
    expect(chosen('/api/v1/push', RW2_CONTENT_TYPE, 'snappy')).toBe('prw2/snappy');
    expect(chosen('/api/v1/push', 'application/x-protobuf; proto="io.prometheus.write.v2.Request"')).toBe(
      'prw2/snappy',
    );
  });

  it('answers 415 naming the header and what to send instead', () => {
    expect(chosen('/api/v1/push', 'application/x-protobuf;proto=io.prometheus.write.v3.Request')).toMatch(
      /^415 unsupported remote-write message io\.prometheus\.write\.v3\.Request: send prometheus\.WriteRequest/,
    );
    expect(chosen('/api/v1/push', 'application/json')).toMatch(
      /^415 unsupported Content-Type "application\/json"/,
    );
    expect(chosen('/api/v1/push', undefined, 'gzip')).toMatch(/^415 unsupported Content-Encoding "gzip"/);
    expect(chosen('/otlp/v1/metrics', 'text/plain')).toMatch(/application\/x-protobuf or application\/json/);
    expect(chosen('/otlp/v1/metrics', 'application/json', 'zstd')).toMatch(
      /^415 unsupported Content-Encoding "zstd"/,
    );
  });

  it('reads OTLP on paths ending in /v1/metrics, protobuf or JSON, gzip or not', () => {
    expect(chosen('/otlp/v1/metrics', 'application/x-protobuf')).toBe('otlp-proto/identity');
    expect(chosen('/otlp/v1/metrics', 'application/x-protobuf', 'gzip')).toBe('otlp-proto/gzip');
    expect(chosen('/v1/metrics', 'application/json; charset=utf-8')).toBe('otlp-json/identity');
    expect(chosen('/otlp/v1/metrics', 'application/json', 'gzip')).toBe('otlp-json/gzip');
  });
});

describe('measureBody', () => {
  it('measures each format through its own scanner and series renderer', () => {
    const rw2 = selectDecoder('/api/v1/push', RW2_CONTENT_TYPE, 'snappy');
    if (isUnsupportedMediaType(rw2)) throw new Error('rw2 refused');
    const measured = measureBody(rw2, rw2SnappyBody([{ labels: { __name__: 'up', job: 'a' } }]), 1 << 20);
    expect(measured.info).toMatchObject({ format: 'prw2', series: 1, floatSamples: 1 });
    expect(measured.describeSeries(measured.decoded, 0)).toBe(`series: 'up{job="a"}'`);

    const request = otlpRequest([
      { attributes: {}, metrics: [{ name: 'm', kind: 'gauge', points: [{ attributes: { a: 'b' } }] }] },
    ]);
    for (const [type, body] of [
      ['application/x-protobuf', encodeOtlpProto(request)],
      ['application/json', encodeOtlpJson(request)],
    ] as const) {
      const d = selectDecoder('/otlp/v1/metrics', type, 'gzip');
      if (isUnsupportedMediaType(d)) throw new Error('otlp refused');
      const m = measureBody(d, gzipSync(body), 1 << 20);
      expect(m.info.floatSamples).toBe(1);
      expect(m.describeSeries(m.decoded, 0)).toBe(`series: 'm{a="b"}'`);
    }
  });
});

describe('gunzipBounded', () => {
  it('refuses a bomb from its trailer before inflating anything', () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20));
    const err = catchError(() => gunzipBounded(bomb, 1 << 20));
    expect(err).toMatchObject({
      code: 'decompressed_too_large',
      declaredBytes: 64 << 20,
      limitBytes: 1 << 20,
    });
  });

  it('stops a bomb whose trailer lies as soon as its output passes the declared size', () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20));
    bomb.writeUInt32LE(10, bomb.length - 4); // claim 10 bytes
    const err = catchError(() => gunzipBounded(bomb, 64 << 20));
    expect(err).toMatchObject({ code: 'invalid_gzip' });
    expect((err as Error).message).toMatch(/inflates past the 10 bytes its trailer declares/);
  });

  it('decompresses what fits, and calls anything else invalid_gzip', () => {
    expect(gunzipBounded(gzipSync(Buffer.from('hello')), 5).toString()).toBe('hello');
    expect(catchError(() => gunzipBounded(Buffer.from('not gzip at all, really'), 100))).toMatchObject({
      code: 'invalid_gzip',
    });
    const truncated = gzipSync(Buffer.alloc(1000, 7)).subarray(0, 20);
    expect(catchError(() => gunzipBounded(truncated, 100_000))).toBeInstanceOf(BodyDecodeError);
  });

  it('refuses more than one member, and a trailer that disagrees with the output', () => {
    const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251));
    expect(gunzipBounded(gzipSync(data), 1 << 20).equals(data)).toBe(true);
    const understated = gzipSync(data);
    understated.writeUInt32LE(1000, understated.length - 4);
    // zlib checks ISIZE against what it inflated, so a wrong trailer is a corrupt body, whatever the chunk was.
    expect(catchError(() => gunzipBounded(understated, 1 << 20))).toMatchObject({ code: 'invalid_gzip' });
    // Only the last member's size is in the trailer: a body of several members could hide any output behind it.
    const twoMembers = Buffer.concat([gzipSync(data), gzipSync(Buffer.from('tail'))]);
    expect(catchError(() => gunzipBounded(twoMembers, 1 << 20))).toMatchObject({ code: 'invalid_gzip' });
  });

  it('sizes its output chunk to the declared length, within what the body can inflate to', () => {
    // One chunk for the whole output, plus the byte that lets zlib see the end.
    expect(outputChunkBytes(575_839, 54_847, 10 << 20)).toBe(575_840);
    // A small body declaring a lot gets no more than deflate's densest ratio allows, nor more than the limit.
    expect(outputChunkBytes(9 << 20, 100, 10 << 20)).toBe(100 * 1032 + 1);
    expect(outputChunkBytes(9 << 20, 1 << 20, 4 << 20)).toBe((4 << 20) + 1);
    // Never below zlib's default chunk, so a trailer declaring a few bytes cannot slow it down.
    expect(outputChunkBytes(5, 25, 1 << 20)).toBe(16_384);
  });
});

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
