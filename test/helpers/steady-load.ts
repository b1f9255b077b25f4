// Steady remote-write load for the store failover tests: one request per tenant every `intervalMs`
// against one or more proxies, every answer recorded with its time, so a test can tell what senders saw
// before, during and after a Redis outage.
import { request } from 'undici';
import { sleep } from './child-process.js';
import { manySeries, remoteWriteHeaders, snappyBody } from './write-request.js';

export interface SentRequest {
  tenant: string;
  proxy: number;
  at: number;
  /** HTTP status, or the error message when the request itself failed. */
  status: number | string;
}

export interface SteadyLoad {
  readonly sent: SentRequest[];
  stop(): Promise<void>;
}

/** `samples` samples per request; each (tenant, proxy) pair sends in its own loop. */
export function steadyLoad(
  proxyUrls: readonly string[],
  tenants: readonly string[],
  intervalMs: number,
  samples: number,
): SteadyLoad {
  const sent: SentRequest[] = [];
  const body = snappyBody(manySeries(samples, 4));
  let running = true;
  const loops = proxyUrls.flatMap((url, proxy) =>
    tenants.map(async (tenant) => {
      while (running) {
        const at = Date.now();
        try {
          const res = await request(`${url}/api/v1/push`, {
            method: 'POST',
            headers: remoteWriteHeaders(tenant),
            body,
            headersTimeout: 10_000,
            bodyTimeout: 10_000,
          });
          await res.body.dump();
          sent.push({ tenant, proxy, at, status: res.statusCode });
        } catch (err) {
          sent.push({ tenant, proxy, at, status: (err as Error).message });
        }
        await sleep(Math.max(0, intervalMs - (Date.now() - at)));
      }
    }),
  );
  let stopped: Promise<void> | undefined;
  return {
    sent,
    stop() {
      running = false;
      stopped ??= Promise.all(loops).then(() => undefined);
      return stopped;
    },
  };
}

/** Requests that got neither a decision (200) nor a denial (429): what a sender would call an error. */
export function requestErrors(sent: readonly SentRequest[]): SentRequest[] {
  return sent.filter((s) => s.status !== 200 && s.status !== 429);
}
