// The standard gRPC health service (grpc.health.v1.Health: Check and Watch) for one listener, so Envoy's
// gRPC health checks and Kubernetes' grpc probes work unchanged. It reports; it never decides traffic.

import { ProtoReader } from '../../wire/protobuf-reader.js';
import { WireWriter } from '../../wire/protobuf-writer.js';
import type { GrpcServer, ServerStreamCall } from './grpc-server.js';
import { GrpcError, GrpcStatus } from './grpc-status.js';

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
export const HEALTH_WATCH_PATH = '/grpc.health.v1.Health/Watch';

/** grpc.health.v1.HealthCheckResponse.ServingStatus */
export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
export type ServingStatusValue = (typeof ServingStatus)[keyof typeof ServingStatus];

function requestedService(message: Buffer): string {
  const reader = new ProtoReader(message);
  const end = message.length;
  let service = '';
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === 10) service = reader.string(end);
    else reader.skip(tag, end);
  }
  return service;
}

function encodeStatus(status: ServingStatusValue): Buffer {
  const w = new WireWriter(16);
  if (status !== 0) w.varint(1, status);
  return w.finishFramed();
}

export class HealthService {
  private readonly statuses = new Map<string, ServingStatusValue>();
  private readonly watchers = new Map<string, Set<ServerStreamCall>>();

  /** `services`: the fully-qualified names served on this listener; "" (the whole server) is always known. */
  constructor(services: readonly string[]) {
    this.statuses.set('', ServingStatus.SERVING);
    for (const s of services) this.statuses.set(s, ServingStatus.SERVING);
    for (const s of this.statuses.keys()) this.watchers.set(s, new Set());
  }

  /** Watch calls still open (a cancelled one is dropped when its stream closes). */
  get watcherCount(): number {
    let n = 0;
    for (const set of this.watchers.values()) n += set.size;
    return n;
  }

  register(server: GrpcServer): void {
    server.addUnary(HEALTH_CHECK_PATH, (message) => {
      const service = requestedService(message);
      const status = this.statuses.get(service);
      if (status === undefined) throw new GrpcError(GrpcStatus.NOT_FOUND, `unknown service ${service}`);
      return encodeStatus(status);
    });
    server.addServerStreaming(HEALTH_WATCH_PATH, (message, call) => {
      const service = requestedService(message);
      const status = this.statuses.get(service);
      // The services here are fixed at start, so an unknown one never appears: NOT_FOUND, as Check answers,
      // and no map entry keyed by a client's string.
      if (status === undefined) throw new GrpcError(GrpcStatus.NOT_FOUND, `unknown service ${service}`);
      call.write(encodeStatus(status));
      const set = this.watchers.get(service)!;
      set.add(call);
      call.onClose(() => set.delete(call));
    });
  }

  /** Sets every service's status (e.g. NOT_SERVING while draining) and tells the watchers. */
  setAll(status: ServingStatusValue): void {
    for (const service of this.statuses.keys()) {
      this.statuses.set(service, status);
      for (const call of this.watchers.get(service) ?? []) call.write(encodeStatus(status));
    }
  }
}
