// End to end: a real Prometheus (Debian's 2.42) with `retry_on_http_429: true`, a short min_backoff/max_backoff
// as a new user leaves them, and a tenant that stays far over its ingestion_rate. The edge answers 429 with
// Mimir's Retry-After (6 s and up, src/decision/retry-after.ts), which the sender obeys: its request rate to the
// edge stays bounded, and it does not reshard into a retry storm. Bounded in time (about 60 s) and in requests.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { sleep, stopAllProcesses } from '../helpers/child-process.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { startPrometheus, sumMetric } from '../helpers/prometheus.js';
import type { PrometheusInstance } from '../helpers/prometheus.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startService } from '../helpers/service.js';
import type { ServiceInstance } from '../helpers/service.js';

const TENANT = 'over-limit';
const REMOTE_NAME = 'edge';
const BATCH = 500;
/**
 * The sender scrapes itself (several hundred series) every second: 50 samples/s is a small fraction of what it
 * writes, for good. The burst holds one batch, so a batch passes now and then and the sender keeps trying.
 */
const LIMITS = { ingestion_rate: 50, ingestion_burst_size: BATCH + 100 };
/** How long the sender's request rate is measured, once it is over its limit. */
const WINDOW_MS = 36_000;
/**
 * At most this many refused requests (the retries) per second, averaged over the window. With Mimir's Retry-After
 * each shard waits at least 6 s after a 429: 0.42/s refused in two runs here (15 in 36 s). The same sender without
 * the header (E2E_RETRY_AFTER_ENV=RETRY_AFTER_HEADER_ENABLED=false: its own 100 ms…1 s backoff) made 1.44
 * requests/s in all, over the 1.2/s bound below.
 */
const MAX_DENIED_PER_SECOND = 0.6;
/**
 * Every request, refused or let through: the ones let through are paced by the bucket's refill (smaller batches
 * when Prometheus runs more shards), so this bound is looser; 0.22 to 0.77/s seen.
 */
const MAX_REQUESTS_PER_SECOND = 1.2;
/**
 * Prometheus reshards from its own view of samples in and out, so the peak varies from run to run: 1 to 11 shards
 * were seen here under Mimir's Retry-After, where a ~1 s Retry-After let the same kind of sender grow to 40.
 */
const MAX_SHARDS_SEEN = 20;

let dir = '';
let upstream: RecordingUpstream | undefined;
let service: ServiceInstance | undefined;
let sender: PrometheusInstance | undefined;

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} did not start (see the beforeAll error)`);
  return value;
}

/** Requests the edge decided for the tenant (allowed and denied), from its own /metrics. */
async function decided(): Promise<{ all: number; denied: number }> {
  const m = await must(service, 'the service').metrics();
  return {
    all: sumMetric(m, 'rls_decisions_total', { tenant: TENANT }),
    denied: sumMetric(m, 'rls_decisions_total', { tenant: TENANT, decision: 'deny' }),
  };
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function context(): string {
  const parts: string[] = [];
  if (service !== undefined) parts.push(`--- service ---\n${tail(service.output(), 15)}`);
  if (sender !== undefined) parts.push(`--- sender ---\n${tail(sender.process.output(), 15)}`);
  return `\n${parts.join('\n')}`;
}

beforeAll(async () => {
  requireDebianBinary('prometheus', 'prometheus');
  dir = await mkdtemp(join(tmpdir(), 'e2e-retry-after-'));
  const overridesFile = join(dir, 'overrides.yaml');
  await writeFile(overridesFile, stringify({ overrides: { [TENANT]: LIMITS } }));
  upstream = await startRecordingUpstream();
  service = await startService({
    upstreamUrl: upstream.url,
    overridesFile,
    tenantFromBasicAuth: true,
    // E2E_RETRY_AFTER_ENV=RETRY_AFTER_HEADER_ENABLED=false measures the same sender without the header.
    env: Object.fromEntries(
      (process.env['E2E_RETRY_AFTER_ENV'] ?? '')
        .split(',')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    ),
  });
  const proxyUrl = service.proxyUrl;
  sender = await startPrometheus({
    name: 'over-limit-sender',
    config: ({ address }) => ({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: 'sender', static_configs: [{ targets: [address] }] }],
      remote_write: [
        {
          name: REMOTE_NAME,
          url: `${proxyUrl}/api/v1/write`,
          basic_auth: { username: TENANT, password: 'x' },
          // What a new user writes: retries on 429, short backoffs, and Prometheus's default max_shards (200).
          queue_config: {
            retry_on_http_429: true,
            min_backoff: '100ms',
            max_backoff: '1s',
            max_samples_per_send: BATCH,
            batch_send_deadline: '1s',
            min_shards: 1,
          },
          metadata_config: { send: false },
        },
      ],
    }),
    // On stop, give up on the refused backlog at once instead of trying to flush it for a minute.
    extraArgs: ['--storage.remote.flush-deadline=1s'],
  });
}, 60_000);

afterAll(async () => {
  await sender?.stop();
  await stopAllProcesses();
  await upstream?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 30_000);

describe('a Prometheus sender that stays over its limit', () => {
  it('keeps a bounded request rate and few shards, because it obeys Mimir-like Retry-After', async () => {
    const snd = must(sender, 'the sender');
    // Wait until the edge has refused the sender at least once: from then on it is over its limit.
    const deadline = Date.now() + 20_000;
    while ((await decided()).denied === 0) {
      if (Date.now() > deadline) throw new Error(`the edge denied nothing in 20 s${context()}`);
      await sleep(250);
    }
    const before = await decided();
    const retriedBefore = await snd.ownMetric('prometheus_remote_storage_samples_retried_total', {
      remote_name: REMOTE_NAME,
    });
    const started = Date.now();
    let maxShards = 0;
    while (Date.now() - started < WINDOW_MS) {
      const shards = await snd.ownMetric('prometheus_remote_storage_shards', { remote_name: REMOTE_NAME });
      maxShards = Math.max(maxShards, shards);
      await sleep(2000);
    }
    const seconds = (Date.now() - started) / 1000;
    const after = await decided();
    const requests = after.all - before.all;
    const denied = after.denied - before.denied;
    const retried =
      (await snd.ownMetric('prometheus_remote_storage_samples_retried_total', { remote_name: REMOTE_NAME })) -
      retriedBefore;
    const rate = requests / seconds;
    const report =
      `${requests} requests (${denied} denied) in ${seconds.toFixed(1)} s = ${rate.toFixed(2)}/s, ` +
      `at most ${maxShards} shards, ${retried} samples retried`;
    console.log(`over-limit Prometheus sender: ${report}`);

    // It is still over its limit and still retrying: the bound is not the sender giving up.
    expect(denied, `the edge stopped denying the sender: ${report}${context()}`).toBeGreaterThan(0);
    expect(retried, `the sender stopped retrying: ${report}${context()}`).toBeGreaterThan(0);
    expect(
      denied / seconds,
      `the sender's retries are not bounded: ${report}${context()}`,
    ).toBeLessThanOrEqual(MAX_DENIED_PER_SECOND);
    expect(rate, `the sender's request rate is not bounded: ${report}${context()}`).toBeLessThanOrEqual(
      MAX_REQUESTS_PER_SECOND,
    );
    expect(maxShards, `the sender resharded into a retry storm: ${report}${context()}`).toBeLessThanOrEqual(
      MAX_SHARDS_SEEN,
    );
  }, 80_000);
});
