// Keeps the file layer equal to one ConfigMap key read from the Kubernetes API: one GET, then a watch from its
// resourceVersion, resumed after every disconnect, relisted on 410 Gone; while the watch cannot connect it
// falls back to polling with GET. Bad content is refused whole and the last good limits stay in force.

import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../lib/config-error.js';
import type { OverridesApplier, ReloadResult, ReloadStatus } from './overrides-applier.js';

export interface SourceLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ConfigMapSourceOptions {
  namespace: string;
  name: string;
  key: string;
  applier: OverridesApplier;
  kubeConfig: KubeConfig;
  /** Wait between polls while the watch cannot connect, and the longest reconnect back-off. */
  pollIntervalMs: number;
  log: SourceLog;
  /** Seconds after which the API server ends each watch (it is then resumed); default 300. */
  watchTimeoutSeconds?: number;
}

interface ConfigMapObject {
  metadata?: { name?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

interface StatusObject {
  kind?: string;
  code?: number;
  message?: string;
}

/** closed: ended (or dropped) after it was established, so resume; failed: could not connect. */
type WatchOutcome = 'closed' | 'gone' | 'failed';

/** Reads `namespace/name`, as OVERRIDES_CONFIGMAP is written. */
export function parseConfigMapRef(text: string): { namespace: string; name: string } {
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(text.trim());
  if (!match)
    throw new ConfigError('OVERRIDES_CONFIGMAP', '', `must be namespace/name, got ${JSON.stringify(text)}`);
  return { namespace: match[1]!, name: match[3]! };
}

function errorCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  return typeof e.code === 'number' ? e.code : undefined;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class KubernetesConfigMapSource {
  private resourceVersion: string | undefined;
  private stopped = false;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private watching = false;
  private loop: Promise<void> | undefined;
  /** 'watch' while a watch stream is open, 'poll' while it cannot connect. */
  mode: 'watch' | 'poll' = 'poll';
  /** How many times the watch was resumed, and relisted after 410 Gone (for status and tests). */
  readonly counts = { watches: 0, relists: 0, polls: 0 };

  constructor(private readonly options: ConfigMapSourceOptions) {}

  /** The last read, applied and refused content, for the admin API's system status. */
  get status(): ReloadStatus {
    return this.options.applier.status;
  }

  get description(): string {
    const o = this.options;
    return `configmap ${o.namespace}/${o.name} key ${o.key}`;
  }

  /** The first GET; throws ConfigError when the ConfigMap cannot be read or its content is refused. */
  async loadInitial(): Promise<void> {
    this.options.applier.initialising = true;
    try {
      const result = await this.list();
      if (result === 'error')
        throw new ConfigError(this.description, '', this.options.applier.status.lastError!.message);
    } finally {
      this.options.applier.initialising = false;
    }
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop;
  }

  /** Seconds since the content was last known to be current: 0 while a watch stream is open. */
  staleSeconds(nowMs: number): number {
    if (this.watching) return 0;
    const last = this.options.applier.status.lastSuccessMs;
    return last > 0 ? (nowMs - last) / 1000 : 0;
  }

  private async run(): Promise<void> {
    let needList = false;
    let failures = 0;
    while (!this.stopped) {
      if (needList) {
        if ((await this.list()) === 'error' && this.resourceVersion === undefined) {
          failures++;
          await this.sleep(this.backoff(failures));
          continue;
        }
        needList = false;
      }
      const outcome = await this.watchOnce();
      if (this.stopped) break;
      if (outcome === 'gone') {
        // The resourceVersion is too old to resume from: read the whole object again.
        this.counts.relists++;
        this.resourceVersion = undefined;
        needList = true;
        continue;
      }
      if (outcome === 'closed') {
        failures = 0;
        await this.sleep(100);
        continue;
      }
      failures++;
      this.mode = 'poll';
      needList = true;
      await this.sleep(this.backoff(failures));
    }
  }

  private backoff(failures: number): number {
    return Math.min(this.options.pollIntervalMs, 100 * 2 ** Math.min(failures, 10));
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** One GET of the ConfigMap (the list step, and the poll while watching is impossible). */
  private async list(): Promise<ReloadResult> {
    const { namespace, name, kubeConfig, applier } = this.options;
    this.counts.polls++;
    try {
      const { CoreV1Api } = await import('@kubernetes/client-node');
      const api = kubeConfig.makeApiClient(CoreV1Api);
      const object = (await api.readNamespacedConfigMap({ name, namespace })) as ConfigMapObject;
      this.resourceVersion = object.metadata?.resourceVersion;
      return this.offer(object);
    } catch (err) {
      const code = errorCode(err);
      const why = code === 404 ? 'it does not exist' : code ? `HTTP ${code}` : message(err);
      return applier.failed(`cannot read ${this.description} from the Kubernetes API: ${why}`);
    }
  }

  private offer(object: ConfigMapObject): ReloadResult {
    // Own keys only: a ConfigMap key may be named `constructor` or `__proto__`, which a plain lookup would
    // answer from Object.prototype.
    const data = object.data;
    const text = data && Object.hasOwn(data, this.options.key) ? data[this.options.key] : undefined;
    if (typeof text !== 'string')
      return this.options.applier.failed(`${this.description}: the ConfigMap has no key ${this.options.key}`);
    return this.options.applier.offer(text, `resourceVersion ${object.metadata?.resourceVersion ?? '?'}`);
  }

  private async watchOnce(): Promise<WatchOutcome> {
    const { namespace, name, kubeConfig, log } = this.options;
    const { Watch } = await import('@kubernetes/client-node');
    let gone = false;
    let finished = false;
    let established = false;
    return new Promise<WatchOutcome>((resolve) => {
      const finish = (err: unknown) => {
        finished = true;
        this.watching = false;
        this.abort = undefined;
        if (this.stopped) return resolve('closed');
        if (gone || errorCode(err) === 410) return resolve('gone');
        if (err && established) {
          // A stream cut mid-way (proxy timeout, API server restart): resume from the last resourceVersion.
          log.info({ source: this.description, err: message(err) }, 'ConfigMap watch dropped; resuming');
          return resolve('closed');
        }
        if (err) {
          log.warn(
            { source: this.description, err: message(err) },
            'ConfigMap watch failed; polling until it reconnects',
          );
          return resolve('failed');
        }
        resolve('closed');
      };
      new Watch(kubeConfig)
        .watch(
          `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
          {
            fieldSelector: `metadata.name=${name}`,
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: this.options.watchTimeoutSeconds ?? 300,
          },
          (phase: string, object: unknown) => {
            this.onEvent(phase, object, () => {
              gone = true;
              this.abort?.abort();
            });
          },
          finish,
        )
        .then(
          (controller) => {
            if (this.stopped) controller.abort();
            else if (!finished) {
              established = true;
              this.abort = controller;
              this.watching = true;
              this.mode = 'watch';
              this.counts.watches++;
            }
          },
          (err: unknown) => finish(err),
        );
    });
  }

  private onEvent(phase: string, object: unknown, relist: () => void): void {
    if (phase === 'ERROR') {
      const status = object as StatusObject;
      if (status.code === 410) relist();
      else
        this.options.applier.failed(
          `${this.description}: watch error ${status.code ?? '?'}: ${status.message ?? ''}`,
        );
      return;
    }
    const configMap = object as ConfigMapObject;
    if (configMap.metadata?.resourceVersion) this.resourceVersion = configMap.metadata.resourceVersion;
    if (phase === 'BOOKMARK') return;
    if (configMap.metadata?.name !== this.options.name) return;
    if (phase === 'DELETED') {
      this.options.applier.failed(`${this.description} was deleted; keeping the last good limits`);
      return;
    }
    if (phase === 'ADDED' || phase === 'MODIFIED') this.offer(configMap);
  }
}
