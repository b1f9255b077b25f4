// End to end: a real Prometheus (Debian's 2.42) scrapes itself every second and remote-writes through the
// service into a second Prometheus. Checks that nothing is lost with generous limits, that a tight
// ingestion_rate makes the sender retry on 429 without dropping samples, and that it catches up after.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { sleep, stopAllProcesses } from '../helpers/child-process.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { labelsKey, startPrometheus, sumMetric } from '../helpers/prometheus.js';
import type { PrometheusInstance, RangeSeries } from '../helpers/prometheus.js';
import { startService } from '../helpers/service.js';
import type { ServiceInstance } from '../helpers/service.js';

const TENANT = 'team-a';
const JOB = 'sender';
const REMOTE_NAME = 'edge';
/** Samples per remote-write request; the tight burst below must be larger so batches can pass. */
const BATCH = 500;
const GENEROUS = { ingestion_rate: 1_000_000, ingestion_burst_size: 10_000_000 };
/** The sender scrapes itself (~400 series) every second: 100/s is about a quarter of what it writes. */
const TIGHT = { ingestion_rate: 100, ingestion_burst_size: 2 * BATCH };

// Metric names as Prometheus 2.42 exposes them on its own /metrics.
const RETRIED = 'prometheus_remote_storage_samples_retried_total';
const FAILED = 'prometheus_remote_storage_samples_failed_total';
const DROPPED = 'prometheus_remote_storage_samples_dropped_total';
const SENT = 'prometheus_remote_storage_samples_total';
const PENDING = 'prometheus_remote_storage_samples_pending';
const DECISIONS = 'rls_decisions_total';

let dir = '';
let overridesFile = '';
let receiver: PrometheusInstance | undefined;
let sender: PrometheusInstance | undefined;
let service: ServiceInstance | undefined;
/** Unix seconds at which the sender started. */
let startedAt = 0;

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} did not start (see the beforeAll error)`);
  return value;
}

/** Rewrites the overrides file atomically (write a temp file, rename over), as a ConfigMap update does. */
async function writeOverrides(limits: {
  ingestion_rate: number;
  ingestion_burst_size: number;
}): Promise<void> {
  const tmp = `${overridesFile}.tmp`;
  await writeFile(tmp, stringify({ overrides: { [TENANT]: limits } }));
  await rename(tmp, overridesFile);
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** What the processes said lately, appended to failure messages. */
function context(): string {
  const parts: string[] = [];
  if (service !== undefined) parts.push(`--- service (last lines) ---\n${tail(service.output(), 25)}`);
  if (sender !== undefined)
    parts.push(`--- sender prometheus (last lines) ---\n${tail(sender.process.output(), 15)}`);
  return `\n${parts.join('\n')}`;
}

async function senderMetric(name: string): Promise<number> {
  return must(sender, 'the sender').ownMetric(name, { remote_name: REMOTE_NAME });
}

async function decisions(decision: 'allow' | 'deny', reason?: string): Promise<number> {
  const labels: Record<string, string> = { decision, tenant: TENANT };
  if (reason !== undefined) labels['reason'] = reason;
  return sumMetric(await must(service, 'the service').metrics(), DECISIONS, labels);
}

/** Polls `check` (which returns undefined when satisfied, else what is wrong) until it passes or time is up. */
async function eventually(timeoutMs: number, check: () => Promise<string | undefined>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problem = await check();
    if (problem === undefined) return;
    if (Date.now() >= deadline)
      throw new Error(`${problem} (still so after ${timeoutMs / 1000} s)${context()}`);
    await sleep(500);
  }
}

function timestamps(series: RangeSeries[]): Set<number> {
  const out = new Set<number>();
  for (const s of series) for (const [t] of s.values) out.add(Math.round(t * 1000));
  return out;
}

/** Sample timestamps (ms) by series. */
function samplesBySeries(series: RangeSeries[]): Map<string, Set<number>> {
  return new Map(series.map((s) => [labelsKey(s.metric), timestamps([s])]));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

beforeAll(async () => {
  requireDebianBinary('prometheus', 'prometheus');
  dir = await mkdtemp(join(tmpdir(), 'e2e-remote-write-'));
  overridesFile = join(dir, 'overrides.yaml');
  await writeOverrides(GENEROUS);

  receiver = await startPrometheus({ name: 'receiver', config: { global: {} }, remoteWriteReceiver: true });
  service = await startService({
    upstreamUrl: receiver.url,
    overridesFile,
    tenantFromBasicAuth: true,
    overridesReloadInterval: '200ms',
    // E2E_SERVICE_ENTRY runs another build (or a stand-in) of the service instead of dist/src/cli.js.
    ...(process.env['E2E_SERVICE_ENTRY'] !== undefined ? { entry: process.env['E2E_SERVICE_ENTRY'] } : {}),
  });
  const proxyUrl = service.proxyUrl;
  startedAt = Date.now() / 1000;
  sender = await startPrometheus({
    name: 'sender',
    config: ({ address }) => ({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: JOB, static_configs: [{ targets: [address] }] }],
      remote_write: [
        {
          name: REMOTE_NAME,
          url: `${proxyUrl}/api/v1/write`,
          // Debian's 2.42 cannot send custom headers: the basic-auth username is the tenant.
          basic_auth: { username: TENANT, password: 'x' },
          queue_config: {
            retry_on_http_429: true,
            min_backoff: '100ms',
            max_backoff: '1s',
            max_samples_per_send: BATCH,
            batch_send_deadline: '1s',
            // One shard: no resharding while requests are being refused, so the test is deterministic.
            min_shards: 1,
            max_shards: 1,
          },
          metadata_config: { send: true, max_samples_per_send: BATCH },
        },
      ],
    }),
  });
}, 120_000);

afterAll(async () => {
  // The sender first, so that it does not spend its shutdown retrying against a service that is gone.
  await sender?.stop();
  await stopAllProcesses();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('Prometheus remote write through the edge', () => {
  it('forwards every series the sender scrapes when the limits are generous', async () => {
    const snd = must(sender, 'the sender');
    const rcv = must(receiver, 'the receiver');

    // Let the sender scrape itself a few times.
    await eventually(25_000, async () => {
      const r = await snd.rawSamples(`up{job="${JOB}"}`, 60, Date.now() / 1000);
      const n = timestamps(r).size;
      return n >= 8 ? undefined : `the sender has scraped itself only ${n} times`;
    });

    const until = Date.now() / 1000;
    const scraped = await snd.series([`{job="${JOB}"}`], startedAt - 60, until);
    expect(scraped.length, 'the sender should scrape a few hundred series of its own').toBeGreaterThan(100);

    let missing: string[] = [];
    await eventually(20_000, async () => {
      const received = new Set(
        (await rcv.series([`{job="${JOB}"}`], startedAt - 60, Date.now() / 1000 + 60)).map(labelsKey),
      );
      missing = scraped.map(labelsKey).filter((k) => !received.has(k));
      if (missing.length === 0) return undefined;
      return (
        `receiver is missing ${missing.length} of the ${scraped.length} series the sender scraped ` +
        `(e.g. ${missing.slice(0, 3).join(' ')})`
      );
    });

    const allowed = await decisions('allow');
    expect(
      allowed,
      `the service counted no allowed requests for tenant ${TENANT}${context()}`,
    ).toBeGreaterThan(0);
  }, 60_000);

  let tightFrom = 0;
  let tightUntil = 0;
  let failedBefore = 0;
  let droppedBefore = 0;

  it('makes the sender retry, without dropping anything, when the ingestion_rate is tight', async () => {
    const deniedBefore = await decisions('deny', 'ingestion_rate');
    const retriedBefore = await senderMetric(RETRIED);
    failedBefore = await senderMetric(FAILED);
    droppedBefore = await senderMetric(DROPPED);
    const sentBefore = await senderMetric(SENT);

    tightFrom = Date.now() / 1000;
    await writeOverrides(TIGHT);

    await eventually(20_000, async () => {
      const denied = (await decisions('deny', 'ingestion_rate')) - deniedBefore;
      const retried = (await senderMetric(RETRIED)) - retriedBefore;
      const failed = (await senderMetric(FAILED)) - failedBefore;
      if (failed > 0) {
        throw new Error(
          `the sender gave up on ${failed} samples (${FAILED}) instead of retrying them: data was lost${context()}`,
        );
      }
      if (denied <= 0) {
        return (
          `after ingestion_rate was lowered to ${TIGHT.ingestion_rate}/s the service denied nothing ` +
          `(${DECISIONS}{decision="deny",tenant="${TENANT}",reason="ingestion_rate"} did not increase)`
        );
      }
      if (retried <= 0)
        return `the service denied ${denied} requests but the sender retried no samples (${RETRIED})`;
      return undefined;
    });

    // Stay tight long enough to build a backlog of several seconds of scrapes.
    const minTightSeconds = 12;
    await sleep(Math.max(0, (tightFrom + minTightSeconds) * 1000 - Date.now()));

    const failed = (await senderMetric(FAILED)) - failedBefore;
    const dropped = (await senderMetric(DROPPED)) - droppedBefore;
    const sentDuring = (await senderMetric(SENT)) - sentBefore;
    const pending = await senderMetric(PENDING);
    expect(
      failed,
      `the sender gave up on ${failed} samples while being rate limited (${FAILED}): data was lost${context()}`,
    ).toBe(0);
    expect(dropped, `the sender dropped ${dropped} samples (${DROPPED})${context()}`).toBe(0);
    // The limit is a quarter of the sender's rate: a backlog must build up, yet some batches must pass.
    expect(
      pending,
      `the sender has no backlog (${PENDING}=${pending}) although ingestion_rate is ${TIGHT.ingestion_rate}/s${context()}`,
    ).toBeGreaterThan(0);
    expect(
      sentDuring,
      `no sample got through in ${minTightSeconds} s at ingestion_rate ${TIGHT.ingestion_rate}/s with burst ` +
        `${TIGHT.ingestion_burst_size} (${SENT} did not increase)${context()}`,
    ).toBeGreaterThan(0);

    tightUntil = Date.now() / 1000;
    await writeOverrides(GENEROUS);
  }, 60_000);

  it('catches up without gaps once the limit is raised again', async () => {
    expect(tightUntil, 'the tight phase did not finish').toBeGreaterThan(0);
    const snd = must(sender, 'the sender');
    const rcv = must(receiver, 'the receiver');
    // The window covers the whole tight period plus a little on both sides.
    const windowEnd = tightUntil + 3;
    const windowSeconds = Math.ceil(windowEnd - (tightFrom - 3));
    await sleep(Math.max(0, (windowEnd + 1.5) * 1000 - Date.now()));

    // A chosen series, at the scrape interval: count_over_time(up[1s]) at every 1 s step over the window
    // must be the same on both sides; a step where the receiver has fewer samples is a gap.
    const expr = `count_over_time(up{job="${JOB}"}[1s])`;
    const windowStart = windowEnd - windowSeconds;
    const perStep = async (p: PrometheusInstance): Promise<Map<number, number>> => {
      const steps = new Map<number, number>();
      for (const s of await p.queryRange(expr, windowStart, windowEnd, 1)) {
        for (const [t, v] of s.values) steps.set(t, Number(v));
      }
      return steps;
    };
    const sentSteps = await perStep(snd);
    const scrapes = [...sentSteps.values()].reduce((a, b) => a + b, 0);
    expect(
      scrapes,
      `the sender scraped itself only ${scrapes} times in ${windowSeconds} s; it should scrape every second`,
    ).toBeGreaterThanOrEqual(windowSeconds - 3);

    await eventually(30_000, async () => {
      const receivedSteps = await perStep(rcv);
      const gaps = [...sentSteps]
        .filter(([t, n]) => (receivedSteps.get(t) ?? 0) < n)
        .map(([t]) => t)
        .sort((a, b) => a - b);
      if (gaps.length === 0) return undefined;
      return (
        `receiver has gaps in up{job="${JOB}"}: ${gaps.length} of the ${sentSteps.size} one-second steps between ` +
        `${iso(windowStart * 1000)} and ${iso(windowEnd * 1000)} hold fewer samples than the sender scraped ` +
        `(from ${iso((gaps[0] ?? 0) * 1000)} to ${iso((gaps[gaps.length - 1] ?? 0) * 1000)}; ` +
        `sender backlog ${PENDING}=${await senderMetric(PENDING)})`
      );
    });

    // Every series, not just `up`: each sample the sender has in the window is in the receiver.
    const all = `{job="${JOB}"}`;
    const sentAll = samplesBySeries(await snd.rawSamples(all, windowSeconds, windowEnd));
    const sentTotal = [...sentAll.values()].reduce((n, ts) => n + ts.size, 0);
    await eventually(15_000, async () => {
      const receivedAll = samplesBySeries(await rcv.rawSamples(all, windowSeconds, windowEnd));
      let lost = 0;
      const seriesWithLoss: string[] = [];
      for (const [key, ts] of sentAll) {
        const got = receivedAll.get(key) ?? new Set<number>();
        const n = [...ts].filter((t) => !got.has(t)).length;
        if (n > 0) {
          lost += n;
          seriesWithLoss.push(key);
        }
      }
      return lost === 0
        ? undefined
        : `receiver is missing ${lost} of the ${sentTotal} samples of job="${JOB}" the sender scraped around ` +
            `the tight period, in ${seriesWithLoss.length} of ${sentAll.size} series (e.g. ${seriesWithLoss[0] ?? ''})`;
    });

    const failed = (await senderMetric(FAILED)) - failedBefore;
    const dropped = (await senderMetric(DROPPED)) - droppedBefore;
    expect(failed, `the sender gave up on ${failed} samples (${FAILED})${context()}`).toBe(0);
    expect(dropped, `the sender dropped ${dropped} samples (${DROPPED})${context()}`).toBe(0);
  }, 60_000);
});
