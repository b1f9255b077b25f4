// An upstream that misbehaves on demand, for fault and backpressure tests: answers, holds requests until
// released, never answers, or resets the connection. Records every body it fully received.

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultMode = 'ok' | 'hold' | 'silent' | 'reset';

export interface FaultUpstream {
  url: string;
  port: number;
  /** What the next requests get: ok (200), hold (until release()), silent (never answered), reset (socket destroyed). */
  mode: FaultMode;
  /** Reset only the next N requests, then answer as `mode` says. */
  resetNext: number;
  /** Requests that reached the handler (including reset and held ones). */
  arrived: number;
  /** Bodies of requests answered 200. */
  bodies: Buffer[];
  /** Requests held now. */
  readonly held: number;
  /** Answers every held request 200. */
  release(): void;
  close(): Promise<void>;
}

export async function startFaultUpstream(port = 0): Promise<FaultUpstream> {
  const waiting: { res: ServerResponse; body: Buffer }[] = [];
  const state: FaultUpstream = {
    url: '',
    port: 0,
    mode: 'ok',
    resetNext: 0,
    arrived: 0,
    bodies: [],
    get held() {
      return waiting.length;
    },
    release() {
      for (const w of waiting.splice(0)) answer(w.res, w.body);
    },
    close: () => Promise.resolve(),
  };
  const answer = (res: ServerResponse, body: Buffer): void => {
    if (res.destroyed) return;
    state.bodies.push(body);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.arrived++;
    if (state.resetNext > 0 || state.mode === 'reset') {
      if (state.resetNext > 0) state.resetNext--;
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (state.mode === 'hold') waiting.push({ res, body });
      else if (state.mode === 'ok') answer(res, body);
      // silent: never answer
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
