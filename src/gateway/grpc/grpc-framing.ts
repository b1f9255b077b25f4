// gRPC's length-prefixed message framing on the request side: the 5-byte prefix (compressed flag, big-endian
// length), exactly one message per unary request, and identity/gzip/deflate decompression bounded by both the
// message size cap and what the shared in-flight byte budget has left.

import { gunzipSync, inflateSync } from 'node:zlib';
import type { InflightBudget } from '../../proxy/backpressure.js';
import { overloadMessage } from '../../proxy/backpressure.js';
import type { GrpcLimitEvent } from './grpc-connection.js';
import { GrpcError, GrpcStatus } from './grpc-status.js';

/** The prefix before each message: 1 byte compressed flag, 4 bytes length. */
export const PREFIX_BYTES = 5;

/** The single message of a unary request body, decompressed when flagged. */
export function unframe(
  body: Buffer,
  encoding: string | string[] | undefined,
  maxMessageBytes: number,
  budget: InflightBudget,
  onLimit: ((event: GrpcLimitEvent) => void) | undefined,
): Buffer {
  if (body.length < 5) {
    throw new GrpcError(GrpcStatus.INTERNAL, 'the call carried no request message');
  }
  const compressed = body[0]!;
  const length = body.readUInt32BE(1);
  if (compressed > 1) throw new GrpcError(GrpcStatus.INTERNAL, `invalid message flag ${compressed}`);
  if (body.length !== 5 + length) {
    throw new GrpcError(
      GrpcStatus.INTERNAL,
      body.length < 5 + length
        ? 'the request message is truncated'
        : 'a unary call must carry exactly one request message',
    );
  }
  const payload = body.subarray(5);
  if (compressed === 0) return payload;
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw new GrpcError(GrpcStatus.INTERNAL, 'compressed message without a grpc-encoding header');
  }
  // The inflated message is held too: it may not outgrow what the in-flight budget has left.
  const room = Math.max(0, budget.maxBytes - budget.bytes);
  const maxOutputLength = Math.min(maxMessageBytes, room);
  if (maxOutputLength < 1) {
    onLimit?.('overloaded');
    throw new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, overloadMessage('bytes', budget).trim());
  }
  try {
    return encoding === 'gzip'
      ? gunzipSync(payload, { maxOutputLength })
      : inflateSync(payload, { maxOutputLength });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' && maxOutputLength < maxMessageBytes) {
      onLimit?.('overloaded');
      throw new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, overloadMessage('bytes', budget).trim());
    }
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new GrpcError(
        GrpcStatus.RESOURCE_EXHAUSTED,
        `request message larger than ${maxOutputLength} bytes once decompressed`,
      );
    }
    throw new GrpcError(GrpcStatus.INTERNAL, `cannot decompress the ${encoding} request message`);
  }
}
