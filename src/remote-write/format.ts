// Chooses how to read a write body from its path, Content-Type and Content-Encoding, then decompresses it within
// the bound and measures it with the matching scanner. Must never guess a format the headers do not name, and
// must never let anything but BodyDecodeError escape for a bad body.

import { BodyDecodeError } from './errors.js';
import { describeSeries } from './describe-series.js';
import { gunzipBounded } from './gzip-bounded.js';
import { describeOtlpJsonSeries } from './otlp-json-describe-series.js';
import { scanOtlpJson } from './otlp-json-scanner.js';
import { describeOtlpSeries, scanOtlpProto } from './otlp-proto-scanner.js';
import type { RequestInfo, WriteFormat } from './request-info.js';
import { describeSeriesV2 } from './rw2-describe-series.js';
import { scanWriteRequest } from './rw1-scanner.js';
import { scanWriteRequestV2 } from './rw2-scanner.js';
import { decompressSnappyBlock } from './snappy-block.js';

export type BodyEncoding = 'snappy' | 'gzip' | 'identity';

/** How one body is read: its message format and its compression. */
export interface BodyDecoder {
  readonly format: WriteFormat;
  readonly encoding: BodyEncoding;
}

/** Why the headers name a body the edge cannot read: the text of the 415 answer. */
export interface UnsupportedMediaType {
  readonly unsupported: string;
}

/** What measuring one body produced. `decoded` is what `describeSeries` reads for a label-limit message. */
export interface MeasuredBody {
  info: RequestInfo;
  decoded: Uint8Array;
  describeSeries: (body: Uint8Array, index: number) => string;
}

const decoder = (format: WriteFormat, encoding: BodyEncoding): BodyDecoder =>
  Object.freeze({ format, encoding });
const RW1 = decoder('prw1', 'snappy');
const RW2 = decoder('prw2', 'snappy');
const OTLP_PROTO = decoder('otlp-proto', 'identity');
const OTLP_PROTO_GZIP = decoder('otlp-proto', 'gzip');
const OTLP_JSON = decoder('otlp-json', 'identity');
const OTLP_JSON_GZIP = decoder('otlp-json', 'gzip');

const RW1_MESSAGE = 'prometheus.writerequest';
const RW2_MESSAGE = 'io.prometheus.write.v2.request';
const PROTOBUF = 'application/x-protobuf';
const JSON_MEDIA = 'application/json';
const UNSUPPORTED_ID = 'err-mimir-edge-unsupported-media-type';

/**
 * OTLP/HTTP's metrics path is `/v1/metrics` (Mimir serves it as `/otlp/v1/metrics`); every other enforced path
 * carries Prometheus remote write.
 */
export function isOtlpPath(path: string | undefined): boolean {
  return path !== undefined && path.endsWith('/v1/metrics');
}

/**
 * The decoder for a body, or why it cannot be read (a 415). Remote write follows the 2.0 spec's negotiation:
 * no Content-Type or no `proto=` means 1.0, `proto=io.prometheus.write.v2.Request` means 2.0, any other message
 * is refused; the body must be snappy (an absent Content-Encoding is taken as snappy, as Prometheus does).
 * OTLP takes `application/x-protobuf` or `application/json`, gzip or uncompressed.
 */
export function selectDecoder(
  path: string | undefined,
  contentType: string | undefined,
  contentEncoding: string | undefined,
): BodyDecoder | UnsupportedMediaType {
  const semi = contentType === undefined ? -1 : contentType.indexOf(';');
  const media = (semi < 0 ? (contentType ?? '') : contentType!.slice(0, semi)).trim().toLowerCase();
  const encoding = (contentEncoding ?? '').trim().toLowerCase();

  if (isOtlpPath(path)) {
    const gzip = encoding === 'gzip';
    if (!gzip && encoding !== '' && encoding !== 'identity') {
      return unsupported(
        `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}: send OTLP bodies gzip-compressed or uncompressed (${UNSUPPORTED_ID}).`,
      );
    }
    if (media === PROTOBUF) return gzip ? OTLP_PROTO_GZIP : OTLP_PROTO;
    if (media === JSON_MEDIA) return gzip ? OTLP_JSON_GZIP : OTLP_JSON;
    return unsupported(
      `unsupported Content-Type ${JSON.stringify(contentType ?? '')}: OTLP bodies are application/x-protobuf or application/json (${UNSUPPORTED_ID}).`,
    );
  }

  if (media !== '' && media !== PROTOBUF) {
    return unsupported(
      `unsupported Content-Type ${JSON.stringify(contentType)}: remote write bodies are application/x-protobuf (${UNSUPPORTED_ID}).`,
    );
  }
  if (encoding !== '' && encoding !== 'snappy') {
    return unsupported(
      `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}: remote write bodies must be snappy-compressed (${UNSUPPORTED_ID}).`,
    );
  }
  const proto = semi < 0 ? undefined : protoParameter(contentType!.slice(semi));
  if (proto === undefined || proto.toLowerCase() === RW1_MESSAGE) return RW1;
  if (proto.toLowerCase() === RW2_MESSAGE) return RW2;
  return unsupported(
    `unsupported remote-write message ${proto}: send prometheus.WriteRequest (remote write 1.0) or io.prometheus.write.v2.Request (remote write 2.0) (${UNSUPPORTED_ID}).`,
  );
}

export function isUnsupportedMediaType(
  value: BodyDecoder | UnsupportedMediaType,
): value is UnsupportedMediaType {
  return (value as UnsupportedMediaType).unsupported !== undefined;
}

/**
 * Decompresses `body` (bounded by `maxUncompressedBytes`) and measures it. Throws BodyDecodeError only:
 * `decompressed_too_large` for a bomb, `invalid_*` for anything malformed.
 */
export function measureBody(d: BodyDecoder, body: Buffer, maxUncompressedBytes: number): MeasuredBody {
  const decoded = decompress(d.encoding, body, maxUncompressedBytes);
  switch (d.format) {
    case 'prw1':
      return { info: scanWriteRequest(decoded, body.length), decoded, describeSeries };
    case 'prw2':
      return { info: scanWriteRequestV2(decoded, body.length), decoded, describeSeries: describeSeriesV2 };
    case 'otlp-proto':
      return { info: scanOtlpProto(decoded, body.length), decoded, describeSeries: describeOtlpSeries };
    case 'otlp-json':
      return { info: scanOtlpJson(decoded, body.length), decoded, describeSeries: describeOtlpJsonSeries };
  }
}

function decompress(encoding: BodyEncoding, body: Buffer, maxUncompressedBytes: number): Uint8Array {
  if (encoding === 'snappy') return decompressSnappyBlock(body, maxUncompressedBytes);
  if (encoding === 'gzip') return gunzipBounded(body, maxUncompressedBytes);
  if (body.length > maxUncompressedBytes) {
    throw new BodyDecodeError(
      'decompressed_too_large',
      `body of ${body.length} bytes is larger than the limit of ${maxUncompressedBytes}`,
      0,
      body.length,
      maxUncompressedBytes,
    );
  }
  return body;
}

/** The value of a `proto=` media-type parameter (quotes removed), or undefined. `params` starts at the first ';'. */
function protoParameter(params: string): string | undefined {
  const match = /;\s*proto\s*=\s*"?([^;"\s]+)"?/i.exec(params);
  return match?.[1];
}

function unsupported(message: string): UnsupportedMediaType {
  return { unsupported: message };
}
