// An independent gRPC client for the Envoy-facing ports: @grpc/grpc-js with Envoy's published v3 protos
// (loaded by @grpc/proto-loader from @grpc/grpc-js-xds's deps/) and grpc.health.v1 as published, so the
// tests check our hand-written codecs against the real schema, not against themselves.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);
const xdsRoot = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
export const ENVOY_PROTO_DIRS = ['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'].map((d) =>
  join(xdsRoot, 'deps', d),
);

const HEALTH_PROTO = `
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
`;

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: ENVOY_PROTO_DIRS,
};

type ServiceCtor = new (address: string, creds: grpc.ChannelCredentials) => grpc.Client;

function lookup(pkg: grpc.GrpcObject, name: string): ServiceCtor {
  let node: unknown = pkg;
  for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`${name} is not in the loaded protos`);
  return node as ServiceCtor;
}

let loaded: grpc.GrpcObject | undefined;
function protos(): grpc.GrpcObject {
  if (loaded) return loaded;
  const dir = mkdtempSync(join(tmpdir(), 'health-proto-'));
  writeFileSync(join(dir, 'health.proto'), HEALTH_PROTO);
  const definition = protoLoader.loadSync(
    [
      'envoy/service/auth/v3/external_auth.proto',
      'envoy/service/ratelimit/v3/rls.proto',
      join(dir, 'health.proto'),
    ],
    LOADER_OPTIONS,
  );
  loaded = grpc.loadPackageDefinition(definition);
  return loaded;
}

export interface HeaderValueOption {
  header: { key: string; value: string };
  append_action: string;
}

export interface CheckResponse {
  status: { code: number; message: string } | null;
  denied_response: {
    status: { code: string } | null;
    headers: HeaderValueOption[];
    body: string;
  } | null;
  ok_response: { headers: HeaderValueOption[] } | null;
  http_response?: 'denied_response' | 'ok_response';
}

export interface CheckInput {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Send the body as `body` (string) instead of `raw_body` (Envoy's pack_as_bytes: false). */
  asString?: boolean;
  /**
   * attributes.source.address.socket_address.address: the downstream peer Envoy saw (default 127.0.0.1, the
   * test's own address); null sends no source at all.
   */
  source?: string | null;
}

export interface DescriptorStatus {
  code: 'OK' | 'OVER_LIMIT' | 'UNKNOWN';
  current_limit: { requests_per_unit: number; unit: string; name: string } | null;
  limit_remaining: number;
  duration_until_reset: { seconds: number; nanos: number } | null;
}

export interface RateLimitResponse {
  overall_code: 'OK' | 'OVER_LIMIT' | 'UNKNOWN';
  statuses: DescriptorStatus[];
  response_headers_to_add: { key: string; value: string }[];
}

export interface RateLimitInput {
  domain: string;
  descriptors: {
    entries: { key: string; value: string }[];
    limit?: { requests_per_unit: number; unit: string };
  }[];
  hits_addend?: number;
}

function unary<Req, Res>(client: grpc.Client, method: string, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (
      client as unknown as Record<string, (r: Req, cb: (e: grpc.ServiceError | null, v: Res) => void) => void>
    )[method]!;
    fn.call(client, req, (err, value) => (err ? reject(err) : resolve(value)));
  });
}

export class EnvoyClient {
  readonly authz: grpc.Client;
  readonly rls: grpc.Client;
  readonly authzHealth: grpc.Client;
  readonly rlsHealth: grpc.Client;

  constructor(extAuthzAddress: string, ratelimitAddress: string, creds = grpc.credentials.createInsecure()) {
    const pkg = protos();
    this.authz = new (lookup(pkg, 'envoy.service.auth.v3.Authorization'))(extAuthzAddress, creds);
    this.rls = new (lookup(pkg, 'envoy.service.ratelimit.v3.RateLimitService'))(ratelimitAddress, creds);
    const Health = lookup(pkg, 'grpc.health.v1.Health');
    this.authzHealth = new Health(extAuthzAddress, creds);
    this.rlsHealth = new Health(ratelimitAddress, creds);
  }

  check(input: CheckInput): Promise<CheckResponse> {
    const body = input.body ?? Buffer.alloc(0);
    const headers = { ...(input.headers ?? {}) };
    const http: Record<string, unknown> = {
      id: '1234',
      method: input.method ?? 'POST',
      path: input.path ?? '/api/v1/push',
      host: 'mimir.example',
      scheme: 'http',
      protocol: 'HTTP/1.1',
      size: body.length,
      headers,
    };
    if (input.asString) http['body'] = body.toString('utf8');
    else http['raw_body'] = body;
    const source = input.source === undefined ? '127.0.0.1' : input.source;
    const attributes: Record<string, unknown> = { request: { http } };
    if (source !== null)
      attributes['source'] = { address: { socket_address: { address: source, port_value: 40000 } } };
    return unary(this.authz, 'Check', { attributes });
  }

  shouldRateLimit(input: RateLimitInput): Promise<RateLimitResponse> {
    return unary(this.rls, 'ShouldRateLimit', input);
  }

  health(which: 'authz' | 'rls', service: string): Promise<{ status: string }> {
    return unary(which === 'authz' ? this.authzHealth : this.rlsHealth, 'Check', { service });
  }

  close(): void {
    for (const c of [this.authz, this.rls, this.authzHealth, this.rlsHealth]) c.close();
  }
}

/** A client that sends raw bytes as the request message, for malformed-input tests. */
export function rawUnary(address: string, path: string, message: Buffer): Promise<Buffer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      message,
      (err, value) => {
        client.close();
        if (err) reject(err);
        else resolve(value!);
      },
    );
  });
}

/** Header values of a CheckResponse's ok or denied response, by lower-case name. */
export function headerMap(options: readonly HeaderValueOption[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of options ?? []) out[o.header.key.toLowerCase()] = o.header.value;
  return out;
}
