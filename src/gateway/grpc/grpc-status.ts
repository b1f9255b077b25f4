// gRPC status codes and the one error type a handler throws to end a call with a non-OK status.
// Handlers return denials as messages (a Decision is a value); GrpcError is for calls that cannot be answered.

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNIMPLEMENTED: 12,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

export class GrpcError extends Error {
  override readonly name = 'GrpcError';
  constructor(
    readonly status: GrpcStatusCode,
    message: string,
  ) {
    super(message);
  }
}

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec): printable ASCII except '%' is sent as is. */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  const bytes = Buffer.from(message, 'utf8');
  for (const b of bytes) {
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}
