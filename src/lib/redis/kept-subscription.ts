// One pub/sub channel kept subscribed across reconnects, for the stores that announce versions through Redis
// (the limits config, the runtime lists). ioredis's own resubscribe after a reconnect leaves a refused SUBSCRIBE
// (ACL, a failover in progress) unhandled, which ends the process; here every 'ready' subscribes again with the
// refusal handled, and `onReady` follows each (re)subscription, since a message sent while disconnected is lost.

import { Redis } from 'ioredis';
import type { RedisClient } from './redis-connections.js';

export class KeptSubscription {
  private subscribed = false;
  private readonly resubscribe: () => void;

  constructor(
    client: RedisClient,
    channel: string,
    onMessage: (message: string) => void,
    onReady: () => void,
  ) {
    if (client instanceof Redis) client.options.autoResubscribe = false;
    client.on('message', (from: string, message: string) => {
      if (from === channel) onMessage(message);
    });
    this.resubscribe = () => {
      if (this.subscribed || client.status !== 'ready') return;
      client.subscribe(channel).then(
        () => {
          this.subscribed = true;
          onReady();
        },
        () => undefined,
      );
    };
    client.on('ready', this.resubscribe);
    client.on('close', () => {
      this.subscribed = false;
    });
    this.resubscribe();
  }

  /** Subscribes again if a refused SUBSCRIBE left the connection without one. */
  keep(): void {
    this.resubscribe();
  }

  get listening(): boolean {
    return this.subscribed;
  }
}
