// Encodes envoy.service.auth.v3.CheckResponse: an OK with headers for the upstream request, or a denial
// carrying the HTTP status, headers and body the client gets. Pure encoding: no decision is made here.

import { WireWriter } from '../../wire/protobuf-writer.js';

/** google.rpc.Code values Envoy logs for a denial; Envoy uses denied_response.status for the HTTP answer. */
export const RpcCode = { OK: 0, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAUTHENTICATED: 16 } as const;

/** HeaderValueOption.append_action OVERWRITE_IF_EXISTS_OR_ADD: our value replaces any the client sent. */
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

const writer = new WireWriter(1024);

function headerOptions(w: WireWriter, field: number, headers: Readonly<Record<string, string>>): void {
  for (const key in headers) {
    w.begin(field);
    w.begin(1).string(1, key).string(2, headers[key]!).end();
    w.varint(3, OVERWRITE_IF_EXISTS_OR_ADD);
    w.end();
  }
}

/** CheckResponse{status OK, ok_response{headers}}, framed for gRPC. */
export function encodeOkResponse(upstreamHeaders: Readonly<Record<string, string>>): Buffer {
  const w = writer.reset();
  // status {} with code 0 encodes as an empty message.
  w.begin(1).end();
  w.begin(3);
  headerOptions(w, 2, upstreamHeaders);
  w.end();
  return w.finishFramed();
}

/** CheckResponse{status{code,message}, denied_response{status{code}, headers, body}}, framed for gRPC. */
export function encodeDeniedResponse(
  rpcCode: number,
  rpcMessage: string,
  httpStatus: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): Buffer {
  const w = writer.reset();
  w.begin(1).varint(1, rpcCode).string(2, rpcMessage).end();
  w.begin(2);
  w.begin(1).varint(1, httpStatus).end();
  headerOptions(w, 2, headers);
  if (body !== '') w.string(3, body);
  w.end();
  return w.finishFramed();
}
