// A stand-in for the one part of the Kubernetes API the edge uses (no cluster can run here): GET of one
// ConfigMap, and its watch as Kubernetes documents it — `?watch=true`, newline-delimited JSON events carrying
// resourceVersion, resume from a resourceVersion, BOOKMARKs, and an ERROR event with a 410 Status once that
// version is compacted away. Bearer-token auth as a kubeconfig sets it. Listens on 127.0.0.1 only.

import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface WatchRequest {
  resourceVersion: string | undefined;
  fieldSelector: string | undefined;
}

interface StoredEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resourceVersion: number;
  object: ConfigMapJson;
}

interface ConfigMapJson {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; namespace: string; resourceVersion: string; uid: string };
  data: Record<string, string>;
}

export interface KubernetesApiStandIn {
  readonly url: string;
  /** A kubeconfig file pointing at this server with its token (for KUBECONFIG). */
  readonly kubeconfigPath: string;
  /** Every watch request received, in order. */
  readonly watchRequests: WatchRequest[];
  /** GETs of the ConfigMap received. */
  gets(): number;
  /** Watch connections open now. */
  openWatches(): number;
  /** Replaces the ConfigMap's data: a new resourceVersion, a MODIFIED (or ADDED) event to open watches. */
  setData(data: Record<string, string>): void;
  deleteConfigMap(): void;
  /** Ends every open watch connection abruptly, as a load balancer or an API server restart would. */
  dropWatches(): void;
  /** Forgets every event so far: a watch resuming from an older resourceVersion gets 410 Gone. */
  compact(): void;
  /** While true, watch requests are answered 500 (the watch cannot connect; GET still works). */
  failWatches: boolean;
  close(): Promise<void>;
}

const TOKEN = 'stand-in-service-account-token';

export async function startKubernetesApi(
  dir: string,
  namespace: string,
  name: string,
  data: Record<string, string>,
): Promise<KubernetesApiStandIn> {
  let resourceVersion = 100;
  let current: ConfigMapJson | undefined;
  let events: StoredEvent[] = [];
  /** Events before this resourceVersion are compacted away. */
  let oldestKept = 0;
  let gets = 0;
  const watchers = new Set<ServerResponse>();
  const watchRequests: WatchRequest[] = [];

  const object = (d: Record<string, string>): ConfigMapJson => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, resourceVersion: String(resourceVersion), uid: 'uid-1' },
    data: { ...d },
  });
  const send = (res: ServerResponse, type: string, obj: unknown) =>
    res.write(`${JSON.stringify({ type, object: obj })}\n`);
  const status = (res: ServerResponse, code: number, reason: string, message: string) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason,
        code,
      }),
    );
  };
  const record = (type: StoredEvent['type'], obj: ConfigMapJson) => {
    const event = { type, resourceVersion, object: obj };
    events.push(event);
    for (const res of watchers) send(res, type, obj);
  };

  resourceVersion++;
  current = object(data);
  record('ADDED', current);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return status(res, 401, 'Unauthorized', 'Unauthorized');
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const base = `/api/v1/namespaces/${namespace}/configmaps`;
    if (
      req.method === 'GET' &&
      url.pathname === `${base}/${name}` &&
      url.searchParams.get('watch') !== 'true'
    ) {
      gets++;
      if (!current) return status(res, 404, 'NotFound', `configmaps "${name}" not found`);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(current));
    }
    if (req.method === 'GET' && url.pathname === base && url.searchParams.get('watch') === 'true') {
      const rv = url.searchParams.get('resourceVersion') ?? undefined;
      watchRequests.push({
        resourceVersion: rv,
        fieldSelector: url.searchParams.get('fieldSelector') ?? undefined,
      });
      if (api.failWatches) return status(res, 500, 'InternalError', 'watch is failing in this test');
      if (url.searchParams.get('fieldSelector') !== `metadata.name=${name}`)
        return status(
          res,
          400,
          'BadRequest',
          'this stand-in serves one ConfigMap: fieldSelector metadata.name=<name>',
        );
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      if (rv === undefined || rv === '' || rv === '0') {
        // No resourceVersion: Kubernetes first sends the current state as synthetic ADDED events.
        if (current) send(res, 'ADDED', current);
      } else if (Number(rv) < oldestKept) {
        send(res, 'ERROR', {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${rv} (${oldestKept})`,
          reason: 'Expired',
          code: 410,
        });
        return res.end();
      } else {
        for (const e of events) if (e.resourceVersion > Number(rv)) send(res, e.type, e.object);
      }
      watchers.add(res);
      const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
      const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
      res.on('close', () => {
        if (timer) clearTimeout(timer);
        watchers.delete(res);
      });
      return;
    }
    return status(res, 404, 'NotFound', `the stand-in does not serve ${req.method} ${url.pathname}`);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: stand-in`,
      // Plain HTTP on loopback: client-node wants this flag before it talks HTTP at all.
      `  cluster: {server: "${url}", insecure-skip-tls-verify: true}`,
      'users:',
      `- name: edge`,
      `  user: {token: ${TOKEN}}`,
      'contexts:',
      `- name: edge@stand-in`,
      `  context: {cluster: stand-in, user: edge, namespace: ${namespace}}`,
      'current-context: edge@stand-in',
      '',
    ].join('\n'),
  );

  const api: KubernetesApiStandIn = {
    url,
    kubeconfigPath,
    watchRequests,
    failWatches: false,
    gets: () => gets,
    openWatches: () => watchers.size,
    setData(d) {
      resourceVersion++;
      const type = current ? 'MODIFIED' : 'ADDED';
      current = object(d);
      record(type, current);
    },
    deleteConfigMap() {
      if (!current) return;
      resourceVersion++;
      const last = {
        ...current,
        metadata: { ...current.metadata, resourceVersion: String(resourceVersion) },
      };
      current = undefined;
      record('DELETED', last);
    },
    dropWatches() {
      for (const res of watchers) res.socket?.destroy();
      watchers.clear();
    },
    compact() {
      events = [];
      oldestKept = resourceVersion + 1;
    },
    close: () =>
      new Promise<void>((resolve) => {
        api.dropWatches();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return api;
}
