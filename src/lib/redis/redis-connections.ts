// Opens the Redis clients the store talks through: a small pool for standalone and Sentinel, one
// Cluster client (which keeps a connection per node and pipelines per node). Commands fail fast while
// disconnected instead of queueing, so no request ever waits on a Redis that is down.

import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisSettings } from './redis-settings.js';

export type RedisClient = Redis | Cluster;

/**
 * A pool connection opened ('ready', with the server it reached), lost ('closed'), or could not ask a
 * sentinel for the master ('sentinel_error', with why).
 */
export interface ConnectionEvent {
  index: number;
  state: 'ready' | 'closed' | 'sentinel_error';
  /** host:port of the server (after Sentinel's answer); empty for the Cluster client. */
  server: string;
  detail?: string;
}

/** Reconnect quickly but without hammering: 100 ms, 200 ms, ... at most 1 s apart. */
function reconnectDelay(times: number): number {
  return Math.min(times * 100, 1000);
}

function commonOptions(s: RedisSettings): RedisOptions {
  return {
    ...(s.username ? { username: s.username } : {}),
    ...(s.password ? { password: s.password } : {}),
    commandTimeout: s.timeoutMs,
    connectTimeout: Math.max(1000, s.timeoutMs * 10),
    // Fail commands at once while disconnected: the fallback answers instead of a queue growing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: reconnectDelay,
    // A master demoted to replica while our connection stays open (Sentinel failover without its client
    // kill, a healed partition) answers every write with READONLY: reconnect, which asks the sentinels
    // (or the cluster's slot map) again. The failed check itself is decided by the fallback.
    reconnectOnError: isReadOnly,
  };
}

function isReadOnly(err: Error): boolean {
  return err.message.startsWith('READONLY');
}

export class RedisConnections {
  readonly clients: readonly RedisClient[];
  readonly cluster: boolean;
  /** Batches in flight per client, to send the next batch to the least busy one. */
  private readonly inFlight: number[];

  constructor(
    private readonly settings: RedisSettings,
    onError: (err: Error) => void,
    onConnection?: (event: ConnectionEvent) => void,
  ) {
    this.cluster = settings.mode === 'cluster';
    const clients: RedisClient[] = [];
    if (this.cluster) {
      const options: ClusterOptions = {
        redisOptions: commonOptions(settings),
        enableOfflineQueue: false,
        // Cluster has no batching of its own in our store: ioredis groups commands per node each tick.
        enableAutoPipelining: true,
        clusterRetryStrategy: reconnectDelay,
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        maxRedirections: 8,
        scaleReads: 'master',
        slotsRefreshTimeout: Math.max(1000, settings.timeoutMs * 10),
      };
      clients.push(
        new Cluster(
          settings.addresses.map((a) => ({ host: a.host, port: a.port })),
          options,
        ),
      );
    } else {
      for (let i = 0; i < settings.poolSize; i++) {
        const options: RedisOptions = {
          ...commonOptions(settings),
          // The first connection always opens: probes and heartbeats use it.
          lazyConnect: i > 0 && i >= settings.minIdleConns,
          connectionName: `mimir-edge-${i}`,
        };
        if (settings.mode === 'sentinel') {
          options.sentinels = settings.addresses.map((a) => ({ host: a.host, port: a.port }));
          options.name = settings.sentinelMaster;
          options.sentinelRetryStrategy = reconnectDelay;
          // Without it a sentinel that accepts the connection but never answers GET-MASTER-ADDR-BY-NAME
          // leaves the connection 'connecting' for good: no retry, no other sentinel asked.
          options.sentinelCommandTimeout = Math.max(1000, settings.timeoutMs * 10);
          // Reconnect the moment a sentinel announces +switch-master. Without it, a master demoted while
          // still up keeps our connections (and takes writes) until the sentinels get round to
          // reconfiguring it, seconds later, and those writes are lost when it resyncs as a replica.
          options.failoverDetector = true;
        } else {
          options.host = settings.addresses[0]!.host;
          options.port = settings.addresses[0]!.port;
        }
        clients.push(new Redis(options));
      }
    }
    clients.forEach((c, index) => {
      c.on('error', onError);
      if (!onConnection) return;
      let server = '';
      c.on('ready', () => {
        server = c instanceof Redis ? `${c.stream.remoteAddress ?? '?'}:${c.stream.remotePort ?? '?'}` : '';
        onConnection({ index, state: 'ready', server });
      });
      c.on('close', () => {
        if (server !== '') onConnection({ index, state: 'closed', server });
        server = '';
      });
      c.on('sentinelError', (err: Error) =>
        onConnection({ index, state: 'sentinel_error', server: '', detail: err.message }),
      );
    });
    this.clients = clients;
    this.inFlight = clients.map(() => 0);
  }

  /**
   * The index of the client to send the next batch on: the ready one with the fewest batches in flight.
   * Opens a lazy pool connection when every open one is busy. -1 when none is ready.
   */
  pick(): number {
    let best = -1;
    for (let i = 0; i < this.clients.length; i++) {
      const c = this.clients[i]!;
      if (c.status !== 'ready') continue;
      if (best === -1 || this.inFlight[i]! < this.inFlight[best]!) best = i;
      if (this.inFlight[i] === 0) return i;
    }
    {
      // Every ready connection is busy (or none is ready): wake one lazy connection for the next batches.
      const lazy = this.clients.findIndex((c) => c.status === 'wait');
      if (lazy !== -1) this.clients[lazy]!.connect().catch(() => undefined);
    }
    return best;
  }

  started(index: number): void {
    this.inFlight[index]!++;
  }

  finished(index: number): void {
    this.inFlight[index]!--;
  }

  /** The first client, for low-rate work (heartbeats, probes); whether or not it is ready. */
  get primary(): RedisClient {
    return this.clients[0]!;
  }

  /**
   * A ready client for low-rate work that must get through now (recovery probes and reconciles): the
   * first ready one, else the first. After a failover each pool connection reconnects on its own
   * schedule, and the first may be the last to come back.
   */
  get anyReady(): RedisClient {
    return this.clients.find((c) => c.status === 'ready') ?? this.primary;
  }

  /**
   * One round trip that shows Redis answers again. In Cluster mode the slot map is asked for first: after a
   * failover, ioredis may still route some slots to the dead master until a MOVED or its periodic refresh,
   * and the fallback's recovery (probe, then reconcile every touched tenant) needs every slot's new owner.
   */
  async probe(): Promise<void> {
    const client = this.anyReady;
    if (client instanceof Cluster) {
      await new Promise<void>((resolve) => client.refreshSlotsCache(() => resolve()));
    }
    await client.ping();
  }

  /** Resolves once the first client is ready, or after `timeoutMs` (false) — never rejects. */
  waitReady(timeoutMs: number): Promise<boolean> {
    const c = this.primary;
    if (c.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        c.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      c.on('ready', onReady);
    });
  }

  /** Whether any client is connected and ready. */
  get ready(): boolean {
    return this.clients.some((c) => c.status === 'ready');
  }

  async close(): Promise<void> {
    await Promise.all(
      this.clients.map(async (c) => {
        try {
          await c.quit();
        } catch {
          // Closed below either way.
        }
        // Also after QUIT: only disconnect() closes the Sentinel failover detector's connections.
        c.disconnect();
      }),
    );
  }

  get description(): string {
    const list = this.settings.addresses.map((a) => `${a.host}:${a.port}`).join(',');
    return this.settings.mode === 'sentinel'
      ? `sentinel ${this.settings.sentinelMaster}@${list}`
      : `${this.settings.mode} ${list}`;
  }
}
