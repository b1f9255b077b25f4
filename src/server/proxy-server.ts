// The HTTP transport: a reverse proxy in front of the upstream. POSTs to the remote-write paths are
// identified, measured and decided (by WriteChecker) before a byte reaches the upstream; everything else
// streams through untouched. The hot path never awaits the admin plane and keeps one buffer per body.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Settings } from '../config/settings.js';
import type { Decision } from '../engine/decision.js';
import { isDecision } from '../decide/write-checker.js';
import type { WriteChecker } from '../decide/write-checker.js';
import { denialBody, denialHeaders } from './denial-response.js';
import type { Upstream } from './upstream.js';

export interface ProxyDeps {
  settings: Settings;
  checker: WriteChecker;
  upstream: Upstream;
}

let requestCounter = 0;
const REQUEST_ID_PREFIX = process.pid.toString(36) + '-' + Date.now().toString(36);

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && given.length > 0 && given.length <= 128) return given;
  return `${REQUEST_ID_PREFIX}-${(++requestCounter).toString(36)}`;
}

export class ProxyServer {
  private readonly paths: ReadonlySet<string>;

  constructor(private readonly deps: ProxyDeps) {
    this.paths = new Set(deps.settings.remoteWritePaths);
  }

  /** The `request` listener of the proxy's http.Server. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (req.method === 'POST' && this.paths.has(path)) {
      this.enforce(req, res, path);
      return;
    }
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    this.deps.upstream.forward(req, res, hasBody ? req : null, requestIdOf(req));
  };

  private enforce(req: IncomingMessage, res: ServerResponse, _path: string): void {
    const { settings, checker } = this.deps;
    const started = performance.now();
    const requestId = requestIdOf(req);

    const identity = checker.identify(req.headers[settings.tenantHeader], req.headers.authorization);
    if (isDecision(identity)) {
      this.rejectUnread(req, res, undefined, identity, requestId);
      return;
    }
    const { tenant } = identity;
    const extraHeaders = identity.fromBasicAuth ? [settings.tenantHeaderName, tenant] : undefined;

    // Refuse a body we will not read before reading it.
    const declared = Number(req.headers['content-length'] ?? -1);
    const tooLarge = checker.overRequestCap(declared);
    if (tooLarge) {
      this.rejectUnread(req, res, tenant, tooLarge, requestId);
      return;
    }

    const chunks: Buffer[] = [];
    let received = 0;
    let aborted = false;
    req.on('data', (chunk: Buffer) => {
      if (aborted) return;
      received += chunk.length;
      const over = checker.overRequestCap(received);
      if (over) {
        aborted = true;
        this.rejectUnread(req, res, tenant, over, requestId);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (aborted) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
      let decision: Decision | Promise<Decision>;
      try {
        decision = checker.check(
          tenant,
          body,
          req.headers['content-type'],
          req.headers['content-encoding'],
          requestId,
          'http',
          started,
        );
      } catch (err) {
        // A bug must cost one request a retriable 500, never the process.
        decision = checker.internalError(err, tenant, requestId);
      }
      if (decision instanceof Promise) {
        decision.then(
          (d) => this.afterDecision(req, res, d, tenant, body, requestId, extraHeaders),
          (err: unknown) => res.destroy(err as Error),
        );
      } else {
        this.afterDecision(req, res, decision, tenant, body, requestId, extraHeaders);
      }
    });
    req.on('error', () => {
      aborted = true;
    });
  }

  private afterDecision(
    req: IncomingMessage,
    res: ServerResponse,
    decision: Decision,
    tenant: string,
    body: Buffer,
    requestId: string,
    extraHeaders: string[] | undefined,
  ): void {
    if (!decision.allowed) {
      this.respond(res, decision, tenant, false);
      return;
    }
    this.deps.upstream.forward(req, res, body, requestId, extraHeaders);
  }

  /** Denies before the body is read: answers, then closes the connection rather than read a body we refuse. */
  private rejectUnread(
    req: IncomingMessage,
    res: ServerResponse,
    tenant: string | undefined,
    decision: Decision,
    requestId: string,
  ): void {
    this.deps.checker.rejectEarly(tenant, decision, requestId, req.socket.remoteAddress);
    this.respond(res, decision, tenant, true);
    req.resume();
  }

  private respond(
    res: ServerResponse,
    d: Decision,
    tenant: string | undefined,
    closeConnection: boolean,
  ): void {
    const headers = denialHeaders(d, tenant);
    if (closeConnection) headers.connection = 'close';
    const body = denialBody(d);
    headers['content-type'] = 'text/plain; charset=utf-8';
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(d.status, headers);
    res.end(body);
  }
}
