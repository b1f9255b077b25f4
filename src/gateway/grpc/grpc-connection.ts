// One HTTP/2 connection of the gRPC server and the bounds on it, as grpc-go's server options: idle and maximum
// age with a GOAWAY and a grace period, keepalive ping enforcement (strikes, then GOAWAY ENHANCE_YOUR_CALM).
// Times are checked by the server's one sweep timer (GrpcServer.startSweep), never by a timer per connection.

import { constants as h2 } from 'node:http2';
import type { Http2Session } from 'node:http2';

/** Connection, keepalive and deadline bounds (the GRPC_* settings); durations in ms, 0 turns one off. */
export interface GrpcServerLimits {
  /** Calls open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused. */
  maxConcurrentStreams: number;
  /** A connection with no call open this long gets GOAWAY and is closed (grpc-go MaxConnectionIdle). */
  maxConnectionIdleMs: number;
  /** A connection this old (±10% jitter) gets GOAWAY (grpc-go MaxConnectionAge). */
  maxConnectionAgeMs: number;
  /** Then calls in flight have this long before the connection is cut (MaxConnectionAgeGrace). */
  maxConnectionAgeGraceMs: number;
  /** Pings closer together than this are strikes; past MAX_PING_STRIKES, GOAWAY ENHANCE_YOUR_CALM. */
  keepaliveMinTimeMs: number;
  /** Whether a ping on a connection with no call open is fine (otherwise a strike, as grpc-go). */
  keepalivePermitWithoutStream: boolean;
  /** A request message must have fully arrived within this (grpc-timeout, when shorter, wins). */
  receiveTimeoutMs: number;
}

export const DEFAULT_GRPC_LIMITS: GrpcServerLimits = Object.freeze({
  maxConcurrentStreams: 100,
  maxConnectionIdleMs: 5 * 60_000,
  maxConnectionAgeMs: 30 * 60_000,
  maxConnectionAgeGraceMs: 30_000,
  keepaliveMinTimeMs: 5 * 60_000,
  keepalivePermitWithoutStream: false,
  receiveTimeoutMs: 10_000,
});

/** Why the server ended a connection or call on its own (rls_grpc_limit_events_total's `event`). */
export type GrpcLimitEvent = 'idle' | 'max_age' | 'too_many_pings' | 'deadline_exceeded' | 'overloaded';

/** What a connection reads of the server that owns it. */
export interface ConnectionOwner {
  readonly limits: GrpcServerLimits;
  readonly onLimit: ((event: GrpcLimitEvent) => void) | undefined;
}

/** Pings too soon tolerated before GOAWAY ENHANCE_YOUR_CALM (grpc-go's maxPingStrikes). */
const MAX_PING_STRIKES = 2;
/** grpc-go: with no call open and pings not permitted without one, the shortest ping interval is 2 h. */
const PING_INTERVAL_WITHOUT_STREAM_MS = 2 * 3600_000;
/** After a GOAWAY for idleness or too many pings, how long the peer has before the socket is destroyed. */
export const CLOSE_GRACE_MS = 1000;

/** One HTTP/2 connection's timers and keepalive state; times are performance.now() ms. */
export class Connection {
  active = 0;
  idleSince: number;
  /** When it gets a GOAWAY for its age (Infinity: never). */
  readonly retireAt: number;
  /** After a GOAWAY: when the socket is destroyed if the peer has not closed it (Infinity: no GOAWAY yet). */
  destroyAt = Infinity;
  private lastPing = -Infinity;
  private pingStrikes = 0;

  constructor(
    readonly session: Http2Session,
    private readonly server: ConnectionOwner,
    now: number,
  ) {
    this.idleSince = now;
    const age = server.limits.maxConnectionAgeMs;
    // ±10% jitter, as grpc-go, so connections opened together do not all reconnect together.
    this.retireAt = age > 0 ? now + age * (0.9 + Math.random() * 0.2) : Infinity;
  }

  streamOpened(): void {
    this.active++;
    // grpc-go forgives pings once the connection carries calls again.
    this.pingStrikes = 0;
    this.lastPing = -Infinity;
  }

  streamClosed(): void {
    if (--this.active === 0) this.idleSince = performance.now();
  }

  readonly onPing = (): void => {
    const { keepaliveMinTimeMs, keepalivePermitWithoutStream } = this.server.limits;
    if (keepaliveMinTimeMs <= 0 && keepalivePermitWithoutStream) return;
    const now = performance.now();
    let min = keepaliveMinTimeMs;
    if (this.active === 0 && !keepalivePermitWithoutStream) min = PING_INTERVAL_WITHOUT_STREAM_MS;
    if (now - this.lastPing < min && ++this.pingStrikes > MAX_PING_STRIKES) {
      this.server.onLimit?.('too_many_pings');
      this.goAway(h2.NGHTTP2_ENHANCE_YOUR_CALM, 'too_many_pings', now + CLOSE_GRACE_MS);
    }
    this.lastPing = now;
  };

  /** GOAWAY (calls in flight may finish), then destroy at `destroyAt` if the peer is still there. */
  goAway(code: number, debug: string, destroyAt: number): void {
    if (this.destroyAt !== Infinity || this.session.destroyed) return;
    this.destroyAt = destroyAt;
    if (!this.session.closed) {
      if (code !== h2.NGHTTP2_NO_ERROR) this.session.goaway(code, 0, Buffer.from(debug));
      this.session.close();
    }
  }

  /** The timers, checked by the server's sweep. */
  check(now: number): void {
    if (now >= this.destroyAt) {
      this.session.destroy();
      return;
    }
    if (this.destroyAt !== Infinity) return;
    const { maxConnectionIdleMs, maxConnectionAgeGraceMs } = this.server.limits;
    if (maxConnectionIdleMs > 0 && this.active === 0 && now - this.idleSince >= maxConnectionIdleMs) {
      this.server.onLimit?.('idle');
      this.goAway(h2.NGHTTP2_NO_ERROR, 'max_idle', now + CLOSE_GRACE_MS);
    } else if (now >= this.retireAt) {
      this.server.onLimit?.('max_age');
      this.goAway(h2.NGHTTP2_NO_ERROR, 'max_age', now + maxConnectionAgeGraceMs);
    }
  }
}
