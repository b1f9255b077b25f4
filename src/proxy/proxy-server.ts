// The HTTP transport: a reverse proxy in front of the upstream. POSTs to the remote-write paths are
// identified, measured and decided (by WriteChecker) before a byte reaches the upstream; everything else
// streams through untouched, unless POLICY_FILE's policies (PolicyGate) refuse it first. The hot path never
// awaits the admin plane and keeps one buffer per body; what a process holds at once is bounded
// (InflightBudget), and past it the answer is 503, not a queue.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Settings } from '../settings/settings.js';
import type { Decision } from '../decision/decision.js';
import { isDecision } from '../decide/write-checker.js';
import type { WriteChecker } from '../decide/write-checker.js';
import type { InflightBudget, OverloadLimit } from './backpressure.js';
import { overloadMessage } from './backpressure.js';
import { denialBody, denialHeaders } from '../decision/denial-response.js';
import { RetryAfterHeader } from '../decision/retry-after.js';
import type { ReplacedBody, Upstream } from './upstream.js';
import type { PolicyGate } from '../decide/policy-gate.js';
import { RequestTargets, isRefusedTarget } from '../lib/http/request-target.js';
import { destroySoon } from '../lib/http/socket-close.js';
import type { ClientErrorCause } from './http-limits.js';
import { clampPriority } from '../decide/adaptive/upstream-protection.js';
import type { UpstreamProtection } from '../decide/adaptive/upstream-protection.js';
import { denial, upstreamOverloadedMessage } from '../decision/catalogue.js';

export interface ProxyDeps {
  settings: Settings;
  checker: WriteChecker;
  upstream: Upstream;
  /** In-flight bound of this process; without one, nothing is bounded (library use and old tests). */
  budget?: InflightBudget;
  /** Called for every 503 answered because a bound was reached. */
  onOverload?: (limit: OverloadLimit) => void;
  /** POLICY_FILE's policies, applied to every request before anything else; absent: nothing is paid. */
  policyGate?: PolicyGate;
  /** Called for every request the proxy refuses for how the client sent it (rls_client_errors_total). */
  onClientError?: (cause: ClientErrorCause) => void;
  /** Adaptive protection of the upstream: writes admitted by priority under its ceiling (docs/protection.md). */
  protection?: UpstreamProtection;
}

/**
 * Marks a shadow copy (NGINX mirror mode, deploy/nginx): decided and recorded like any write, answered 204
 * or with the denial, never forwarded, so the upstream does not get the write twice.
 */
export const SHADOW_HEADER = 'x-edge-shadow';

let requestCounter = 0;
const REQUEST_ID_PREFIX = process.pid.toString(36) + '-' + Date.now().toString(36);

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && given.length > 0 && given.length <= 128) return given;
  return `${REQUEST_ID_PREFIX}-${(++requestCounter).toString(36)}`;
}

/** Per request: what it holds of the budget, given back once when its response closes. */
class Held {
  bytes = 0;
  constructor(private readonly budget: InflightBudget) {}
  readonly release = (): void => {
    this.budget.releaseRequest();
    if (this.bytes > 0) this.budget.releaseBytes(this.bytes);
    this.bytes = 0;
  };
}

export class ProxyServer {
  private readonly targets: RequestTargets;
  private readonly retryAfter: RetryAfterHeader;
  private isDraining = false;

  constructor(private readonly deps: ProxyDeps) {
    this.targets = new RequestTargets(deps.settings.remoteWritePaths);
    this.retryAfter = new RetryAfterHeader(deps.settings.retryAfter);
  }

  /**
   * From now on every answer carries `Connection: close`, so keep-alive clients reconnect (to another
   * replica) instead of reusing a connection that is about to close. Requests still in flight finish.
   */
  startDraining(): void {
    this.isDraining = true;
    this.deps.upstream.draining = true;
  }

  get draining(): boolean {
    return this.isDraining;
  }

  /** The `request` listener of the proxy's http.Server. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    // One canonical target before anything looks at the path: the policy gate, the write-path match and the
    // upstream all see the same form, so no spelling of a write path walks around its limits.
    const resolved = this.targets.resolve(req.url ?? '');
    if (isRefusedTarget(resolved)) {
      this.badTarget(req, res, resolved.refused);
      return;
    }
    if (resolved.target !== req.url) req.url = resolved.target;
    const writePath = req.method === 'POST' ? resolved.writePath : undefined;
    let held: Held | undefined;
    const budget = this.deps.budget;
    if (budget) {
      if (!budget.admitRequest()) {
        this.overloaded(req, res, 'requests');
        return;
      }
      held = new Held(budget);
      res.once('close', held.release);
    }
    const gate = this.deps.policyGate;
    if (gate !== undefined) {
      // A refusal is answered by the gate; a write it allows still meets Mimir's limits (stricter wins).
      gate.guardProxy(req, res, this.isDraining, () => this.route(req, res, writePath, held));
      return;
    }
    this.route(req, res, writePath, held);
  };

  private route(
    req: IncomingMessage,
    res: ServerResponse,
    writePath: string | undefined,
    held: Held | undefined,
  ): void {
    if (writePath !== undefined) {
      this.enforce(req, res, writePath, held);
      return;
    }
    if (req.headers[SHADOW_HEADER] === '1') {
      // A shadow copy of anything but a write is not ours to send on.
      req.resume();
      res.writeHead(204, { 'x-edge-shadow': 'ignored' });
      res.end();
      return;
    }
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    this.deps.upstream.forward(req, res, hasBody ? req : null, requestIdOf(req));
  }

  private enforce(req: IncomingMessage, res: ServerResponse, path: string, held: Held | undefined): void {
    const { settings, checker, budget } = this.deps;
    const started = performance.now();
    const requestId = requestIdOf(req);
    if (checker.modeOf(undefined) === 'off') return this.passUnchecked(req, res, undefined, requestId);

    const identity = checker.identify(req.headers[settings.tenantHeader], req.headers.authorization);
    if (isDecision(identity)) {
      this.rejectUnread(req, res, undefined, identity, requestId);
      return;
    }
    const { tenant } = identity;
    // The upstream always gets the tenant the edge charged, in the tenant header, whatever the client sent
    // (a basic-auth user, or a header a `Connection:` token named): forwardableHeaders() puts it in place.
    const extraHeaders = [settings.tenantHeaderName, tenant];
    if (checker.modeOf(tenant) === 'off')
      return this.passUnchecked(req, res, tenant, requestId, extraHeaders);

    // Refuse a body we will not read before reading it.
    const declared = Number(req.headers['content-length'] ?? -1);
    const tooLarge = checker.overRequestCap(declared);
    if (tooLarge) {
      this.rejectUnread(req, res, tenant, tooLarge, requestId);
      return;
    }
    // Bytes are reserved as they arrive, never from the declared length: a client that declares 50 MiB and
    // then sends nothing holds nothing of the budget (and a body that stalls is cut, below).
    //
    // A declared length gets one buffer, and each chunk is copied in as it arrives: the chunks are garbage at
    // once and there is no concatenation copy, i.e. one body's worth less off-heap memory per request (V8
    // counts that memory towards starting a full GC). That buffer is allocated, and reserved whole, only once
    // half the declared body has arrived: what a client makes the edge hold is at most twice what it sent.
    // Before that, and for chunked bodies, the chunks are kept and joined at the end.
    let whole: Buffer | undefined;
    let state: 'collect' | 'whole' | 'chunks' = declared > 0 ? 'collect' : 'chunks';
    let chunks: Buffer[] = [];
    let received = 0;
    let aborted = false;
    const stop = (): void => {
      aborted = true;
      clearTimeout(idle);
      whole = undefined;
      chunks = [];
    };
    // A body with no byte for PROXY_BODY_IDLE_TIMEOUT is cut: a sender stalled mid-body holds a request slot
    // and its bytes for nothing (PROXY_REQUEST_TIMEOUT alone would let it hold them for minutes).
    const idleMs = settings.proxyLimits.bodyIdleTimeoutMs;
    const idle = setTimeout(() => {
      if (aborted) return;
      stop();
      this.bodyStalled(req, res, idleMs);
    }, idleMs);
    res.once('close', () => clearTimeout(idle));
    req.on('data', (chunk: Buffer) => {
      if (aborted) return;
      idle.refresh();
      received += chunk.length;
      const over = checker.overRequestCap(received);
      if (over) {
        stop();
        this.rejectUnread(req, res, tenant, over, requestId);
        return;
      }
      const allocate = state === 'collect' && received * 2 >= declared && received <= declared;
      const need = allocate ? declared : received;
      if (budget && held && need > held.bytes) {
        if (!budget.reserveBytes(need - held.bytes)) {
          stop();
          this.overloaded(req, res, 'bytes');
          return;
        }
        held.bytes = need;
      }
      if (state === 'whole') {
        if (received <= whole!.length) {
          chunk.copy(whole!, received - chunk.length);
          return;
        }
        // More than declared: Node's parser never delivers that; collect rather than overrun.
        chunks.push(whole!.subarray(0, received - chunk.length));
        whole = undefined;
        state = 'chunks';
      } else if (allocate) {
        state = 'whole';
        if (chunks.length === 0 && chunk.length === declared) {
          // The whole body in one chunk: keep it as is.
          whole = chunk;
          return;
        }
        whole = Buffer.allocUnsafe(declared);
        let at = 0;
        for (const c of chunks) at += c.copy(whole, at);
        chunk.copy(whole, at);
        chunks = [];
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(idle);
      if (aborted) return;
      // Adaptive protection: a counter check, before the body is measured or the tenant charged, so a write
      // shed for the upstream's sake costs the tenant nothing of its limits.
      const protection = this.deps.protection;
      if (protection !== undefined && req.headers[SHADOW_HEADER] !== '1') {
        const priority = checker.priorityOf(tenant);
        const admission = protection.admit(priority, Date.now());
        if (admission === 'shed') {
          this.shed(req, res, protection, tenant, priority, requestId);
          return;
        }
        if (admission === 'counted') res.once('close', protection.releaseFor[clampPriority(priority)]!);
      }
      const body =
        whole !== undefined
          ? whole.subarray(0, received)
          : chunks.length === 1
            ? chunks[0]!
            : Buffer.concat(chunks, received);
      let decision: Decision | Promise<Decision>;
      try {
        decision = checker.check({
          tenant,
          body,
          contentType: req.headers['content-type'],
          contentEncoding: req.headers['content-encoding'],
          path,
          requestId,
          transport: 'http',
          started,
        });
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
    req.on('error', stop);
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
    if (res.destroyed) return;
    if (!decision.allowed) {
      this.respond(req, res, decision, tenant, false);
      return;
    }
    if (req.headers[SHADOW_HEADER] === '1') {
      res.writeHead(204, { 'x-edge-shadow': 'allowed' });
      res.end();
      return;
    }
    const partial = decision.partial;
    if (partial) {
      // Part of the request goes upstream (Mimir's partial acceptance, selective filtering): the client gets the
      // answer owed for the rest once that part is in, or the upstream's own answer when nothing is owed.
      const { refusal, delivered } = partial;
      const replaced: ReplacedBody = {
        ...(refusal
          ? { onAccepted: (r: ServerResponse): void => this.respond(req, r, refusal, tenant, false) }
          : {}),
        ...(delivered ? { delivered } : {}),
      };
      const partialBody = Buffer.from(partial.body.buffer, partial.body.byteOffset, partial.body.byteLength);
      this.deps.upstream.forward(req, res, partialBody, requestId, extraHeaders, replaced, 'write');
      return;
    }
    // The decision goes along to be compared with the upstream's answer (rls_upstream_agreement_total).
    this.deps.upstream.forward(req, res, body, requestId, extraHeaders, undefined, 'write', tenant, decision);
  }

  /** 429 + Retry-After for a write adaptive protection sheds; the body was read, so the connection stays. */
  private shed(
    req: IncomingMessage,
    res: ServerResponse,
    protection: UpstreamProtection,
    tenant: string,
    priority: number,
    requestId: string,
  ): void {
    const admitted = protection.admittedBelow(priority);
    // The decision's own wait (its log line, ext_authz); the answer's Retry-After is Mimir's (RETRY_AFTER_HEADER_*).
    const retryAfter = Math.max(1, Math.ceil(protection.settings.windowMs / 1000));
    const inflight = protection.inflightFrom(priority);
    const d = denial(
      'upstream_overloaded',
      upstreamOverloadedMessage(priority, inflight, admitted, protection.ceiling),
      admitted,
      inflight,
      retryAfter,
    );
    this.deps.checker.rejectEarly(tenant, d, requestId, req.socket.remoteAddress);
    this.respond(req, res, d, tenant, false);
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
    this.respond(req, res, decision, tenant, true);
    req.resume();
    destroySoon(req.socket);
  }

  /** Mode off: streamed to the upstream unread, as a plain reverse proxy would; a shadow copy is just dropped. */
  private passUnchecked(
    req: IncomingMessage,
    res: ServerResponse,
    tenant: string | undefined,
    requestId: string,
    extraHeaders?: string[],
  ): void {
    this.deps.checker.passUnchecked(tenant);
    if (req.headers[SHADOW_HEADER] === '1') {
      req.resume();
      res.writeHead(204, { 'x-edge-shadow': 'unchecked' });
      res.end();
      return;
    }
    this.deps.upstream.forward(req, res, req, requestId, extraHeaders, undefined, 'write');
  }

  /** 408 for a write body that stopped arriving; what it held is freed, and the connection closes. */
  private bodyStalled(req: IncomingMessage, res: ServerResponse, idleMs: number): void {
    this.deps.onClientError?.('request_timeout');
    if (!res.headersSent && !res.destroyed) {
      const body = `the request body stalled: no byte arrived for ${idleMs} ms (PROXY_BODY_IDLE_TIMEOUT) (err-mimir-edge-request-timeout).\n`;
      res.writeHead(408, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        connection: 'close',
      });
      res.end(body);
    }
    req.resume();
    destroySoon(req.socket);
  }

  /** 400 for a target the edge does not route; the body (if any) is not read, so the connection closes. */
  private badTarget(req: IncomingMessage, res: ServerResponse, text: string): void {
    this.deps.onClientError?.('bad_target');
    const body = text + '\n';
    res.writeHead(400, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body);
    req.resume();
    destroySoon(req.socket);
  }

  /** 503 + Retry-After (as Mimir's, growing with Retry-Attempt) for a bound reached; the body (if any) is not read, so the connection closes. */
  private overloaded(req: IncomingMessage, res: ServerResponse, limit: OverloadLimit): void {
    this.deps.onOverload?.(limit);
    const text = overloadMessage(limit, this.deps.budget!);
    const wait = this.retryAfter.value(503, req.headers['retry-attempt']);
    res.writeHead(503, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...(wait !== undefined ? { 'retry-after': wait } : {}),
      connection: 'close',
    });
    res.end(text);
    req.resume();
    destroySoon(req.socket);
  }

  private respond(
    req: IncomingMessage,
    res: ServerResponse,
    d: Decision,
    tenant: string | undefined,
    closeConnection: boolean,
  ): void {
    const headers = denialHeaders(d, tenant, this.retryAfter, req.headers['retry-attempt']);
    if (closeConnection || this.isDraining) headers.connection = 'close';
    const body = denialBody(d);
    headers['content-type'] = 'text/plain; charset=utf-8';
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(d.status, headers);
    res.end(body);
  }
}
