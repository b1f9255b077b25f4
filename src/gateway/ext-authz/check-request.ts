// Decodes the parts of envoy.service.auth.v3.CheckRequest the edge needs: the HTTP method, path,
// headers (the `headers` map or Envoy's raw `header_map`), the body (`raw_body`, else `body`) and the
// peer Envoy saw (`attributes.source.address.socket_address.address`).
// Everything else is skipped unread. The body is a view into the request buffer, never a copy.

import { ProtoReader } from '../../wire/protobuf-reader.js';

export interface CheckedHttpRequest {
  method: string;
  /** The path as Envoy saw it, query string included. */
  path: string;
  /** Lower-case header names; repeated headers joined with ",". Null prototype: names are untrusted. */
  headers: Record<string, string>;
  /** The request body Envoy buffered (empty when Envoy sent none). */
  body: Uint8Array;
  /** Envoy's request id (`id`), empty when absent. */
  id: string;
  /**
   * The downstream peer's address as Envoy saw it (attributes.source.address.socket_address.address), empty
   * when absent. Unlike X-Forwarded-For, the client cannot write it.
   */
  sourceAddress: string;
}

// Field tags: number << 3 | wire type 2 (length-delimited) or 0 (varint).
const CHECK_REQUEST_ATTRIBUTES = (1 << 3) | 2;
const ATTRIBUTES_SOURCE = (1 << 3) | 2;
const ATTRIBUTES_REQUEST = (4 << 3) | 2;
/** Peer.address, Address.socket_address, SocketAddress.address. */
const PEER_ADDRESS = (1 << 3) | 2;
const ADDRESS_SOCKET_ADDRESS = (1 << 3) | 2;
const SOCKET_ADDRESS_ADDRESS = (2 << 3) | 2;
const REQUEST_HTTP = (2 << 3) | 2;
const HTTP_ID = (1 << 3) | 2;
const HTTP_METHOD = (2 << 3) | 2;
const HTTP_HEADERS = (3 << 3) | 2;
const HTTP_PATH = (4 << 3) | 2;
const HTTP_BODY = (11 << 3) | 2;
const HTTP_RAW_BODY = (12 << 3) | 2;
const HTTP_HEADER_MAP = (13 << 3) | 2;
const ENTRY_KEY = (1 << 3) | 2;
const ENTRY_VALUE = (2 << 3) | 2;
const HEADER_VALUE_RAW = (3 << 3) | 2;

const EMPTY = new Uint8Array(0);
const UTF8 = new TextDecoder('utf-8');

function addHeader(headers: Record<string, string>, key: string, value: string): void {
  const name = key.toLowerCase();
  const existing = headers[name];
  headers[name] = existing === undefined ? value : `${existing},${value}`;
}

/** One `map<string,string>` entry or one HeaderValue: key 1, value 2, raw_value 3 (HeaderValue only). */
function readHeader(reader: ProtoReader, end: number, headers: Record<string, string>): void {
  let key = '';
  let value = '';
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === ENTRY_KEY) key = reader.string(end);
    else if (tag === ENTRY_VALUE) value = reader.string(end);
    else if (tag === HEADER_VALUE_RAW) value = UTF8.decode(reader.bytes(end));
    else reader.skip(tag, end);
  }
  if (key !== '') addHeader(headers, key, value);
}

function readHttp(reader: ProtoReader, end: number, out: CheckedHttpRequest): void {
  let body: Uint8Array | undefined;
  let rawBody: Uint8Array | undefined;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    switch (tag) {
      case HTTP_METHOD:
        out.method = reader.string(end);
        break;
      case HTTP_PATH:
        out.path = reader.string(end);
        break;
      case HTTP_ID:
        out.id = reader.string(end);
        break;
      case HTTP_HEADERS: {
        const stop = reader.messageEnd(end);
        readHeader(reader, stop, out.headers);
        break;
      }
      case HTTP_HEADER_MAP: {
        const stop = reader.messageEnd(end);
        while (reader.pos < stop) {
          const inner = reader.tag(stop);
          if (inner === ENTRY_KEY) {
            const valueEnd = reader.messageEnd(stop);
            readHeader(reader, valueEnd, out.headers);
          } else reader.skip(inner, stop);
        }
        break;
      }
      // `body` is declared a string, but Envoy copies the bytes unchanged; reading it as bytes keeps a
      // binary (snappy) body intact when pack_as_bytes is off.
      case HTTP_BODY:
        body = reader.bytes(end);
        break;
      case HTTP_RAW_BODY:
        rawBody = reader.bytes(end);
        break;
      default:
        reader.skip(tag, end);
    }
  }
  out.body = rawBody ?? body ?? EMPTY;
}

/** Peer → Address → SocketAddress → address: the one string of the source the edge needs. */
function readSource(reader: ProtoReader, end: number, out: CheckedHttpRequest): void {
  while (reader.pos < end) {
    const p = reader.tag(end);
    if (p !== PEER_ADDRESS) {
      reader.skip(p, end);
      continue;
    }
    const addressEnd = reader.messageEnd(end);
    while (reader.pos < addressEnd) {
      const a = reader.tag(addressEnd);
      if (a !== ADDRESS_SOCKET_ADDRESS) {
        reader.skip(a, addressEnd);
        continue;
      }
      const socketEnd = reader.messageEnd(addressEnd);
      while (reader.pos < socketEnd) {
        const t = reader.tag(socketEnd);
        if (t === SOCKET_ADDRESS_ADDRESS) out.sourceAddress = reader.string(socketEnd);
        else reader.skip(t, socketEnd);
      }
    }
  }
}

/** Walks CheckRequest.attributes.request.http; fields may repeat (protobuf merge), the last wins. */
export function decodeCheckRequest(message: Uint8Array): CheckedHttpRequest {
  const out: CheckedHttpRequest = {
    method: '',
    path: '',
    headers: Object.create(null) as Record<string, string>,
    body: EMPTY,
    id: '',
    sourceAddress: '',
  };
  const reader = new ProtoReader(message);
  const end = message.length;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== CHECK_REQUEST_ATTRIBUTES) {
      reader.skip(tag, end);
      continue;
    }
    const attributesEnd = reader.messageEnd(end);
    while (reader.pos < attributesEnd) {
      const t = reader.tag(attributesEnd);
      if (t === ATTRIBUTES_SOURCE) {
        readSource(reader, reader.messageEnd(attributesEnd), out);
        continue;
      }
      if (t !== ATTRIBUTES_REQUEST) {
        reader.skip(t, attributesEnd);
        continue;
      }
      const requestEnd = reader.messageEnd(attributesEnd);
      while (reader.pos < requestEnd) {
        const r = reader.tag(requestEnd);
        if (r === REQUEST_HTTP) readHttp(reader, reader.messageEnd(requestEnd), out);
        else reader.skip(r, requestEnd);
      }
    }
  }
  return out;
}
