// `npm run soak`: mixed remote-write traffic from many tenants through the real edge process (built with tsc
// and started from dist/src/cli.js, as in production) to a checksumming upstream, for a long time. Reports the
// edge's RSS slope after warm-up, its event-loop lag p99 (nodejs_eventloop_lag_p99_seconds: prom-client's
// perf_hooks.monitorEventLoopDelay inside the edge process, reset at every scrape, so one value per window),
// every failure the limits do not explain, and bodies that arrived altered. Exits 1 on any of the last two.
// Knobs (env): SOAK_DURATION (10m), SOAK_TENANTS (1000), SOAK_RPS (200), SOAK_CONCURRENCY (32),
// SOAK_WARMUP (1m, or a fifth of the duration when shorter), SOAK_SAMPLE_EVERY (5s), SOAK_FROM_SOURCE=1 (run
// src/cli.ts through tsx instead), SOAK_EDGE_ENTRY=<cli.js of another build>, SOAK_CPU_PROFILE=<file> (the edge's CPU profile, written at exit by
// bench/lib/cpu-profile-preload.mjs; `node bench/lib/top-frames.mjs <file>` lists where the time went).
// Only 127.0.0.1.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { parseDuration } from '../src/settings/settings.js';
import { startProcess, stopAllProcesses } from '../test/helpers/child-process.js';
import { parseExposition } from '../test/helpers/prometheus.js';
import { startService } from '../test/helpers/service.js';
import { FROM_SOURCE } from '../test/helpers/source-entry.js';
import { manySeries, snappyBody } from '../test/helpers/write-request.js';

function durationKnob(name: string, fallback: string): number {
  const raw = process.env[name] || fallback;
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0)
    throw new Error(`${name} must be a duration such as 90s or 10m, got ${raw}`);
  return ms;
}
function intKnob(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number >= 1, got ${raw}`);
  return n;
}

const DURATION_MS = durationKnob('SOAK_DURATION', '10m');
const TENANTS = intKnob('SOAK_TENANTS', 1000);
const RPS = intKnob('SOAK_RPS', 200);
const CONCURRENCY = intKnob('SOAK_CONCURRENCY', 32);
const WARMUP_MS = Math.min(durationKnob('SOAK_WARMUP', '1m'), Math.floor(DURATION_MS / 5));
const SAMPLE_MS = durationKnob('SOAK_SAMPLE_EVERY', '5s');
/** One tenant in ten has a tight ingestion_rate, so 429s are part of the mix; for them (only) 429 is expected. */
const TIGHT_EVERY = 10;

const ROOT = join(import.meta.dirname, '..');

/** tsc -p tsconfig.build.json; type errors elsewhere in the tree still emit, so only a missing cli.js fails. */
function build(): void {
  log('building the edge: tsc -p tsconfig.build.json');
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
        stdio: 'pipe',
      },
    );
  } catch (err) {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli.js'))) throw new Error('build failed', { cause: err });
    log('WARNING: tsc reported type errors but emitted dist/; soaking what it emitted');
  }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('base64');
const tenantName = (i: number): string => `soak-${String(i).padStart(4, '0')}`;
const log = (msg: string): void => void process.stderr.write(`[soak] ${msg}\n`);

/** Least-squares slope of y over x. */
function slope(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  // The upstream: checks every body against the checksum the sender recorded under its X-Request-Id.
  const expected = new Map<string, string>();
  let arrived = 0;
  let mismatches = 0;
  let unknown = 0;
  const upstream = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      arrived++;
      const id = req.headers['x-request-id'];
      const want = typeof id === 'string' ? expected.get(id) : undefined;
      if (want === undefined) unknown++;
      else if (want !== sha(Buffer.concat(chunks))) mismatches++;
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  const dir = mkdtempSync(join(tmpdir(), 'edge-soak-'));
  const overridesFile = join(dir, 'overrides.yaml');
  const tight: string[] = [];
  for (let i = 0; i < TENANTS; i += TIGHT_EVERY)
    tight.push(`  ${tenantName(i)}:\n    ingestion_rate: 20\n    ingestion_burst_size: 400\n`);
  writeFileSync(overridesFile, `overrides:\n${tight.join('')}`);

  // The edge runs as in production (node dist/src/cli.js, built now) unless SOAK_FROM_SOURCE=1: under tsx every
  // class field arrow function is wrapped (keepNames) and errors load source maps, which the lag would include.
  const fromSource = process.env.SOAK_FROM_SOURCE === '1';
  // SOAK_EDGE_ENTRY: another build's cli.js (e.g. of an earlier commit), to compare two versions on one machine.
  const otherBuild = process.env.SOAK_EDGE_ENTRY;
  if (!fromSource && !otherBuild) build();
  const entry = otherBuild
    ? { entry: otherBuild, env: {} as Record<string, string> }
    : fromSource
      ? FROM_SOURCE
      : { entry: join(ROOT, 'dist', 'src', 'cli.js'), env: {} as Record<string, string> };
  const preload = join(import.meta.dirname, 'lib', 'cpu-profile-preload.mjs');
  const edge = await startService({
    upstreamUrl,
    overridesFile,
    ...entry,
    env: {
      ...entry.env,
      ...(process.env.SOAK_CPU_PROFILE
        ? {
            NODE_OPTIONS: `${entry.env.NODE_OPTIONS ?? ''} --import ${preload}`.trim(),
            CPU_PROFILE_FILE: process.env.SOAK_CPU_PROFILE,
          }
        : {}),
      LOG_LEVEL: 'warn',
    },
    startTimeoutMs: 60_000,
  });
  const pid = edge.process.pid;
  log(
    `edge pid ${pid}; ${TENANTS} tenants, ${RPS} req/s target, ${CONCURRENCY} senders, ${DURATION_MS / 1000} s (warm-up ${WARMUP_MS / 1000} s)`,
  );

  // A control: an idle Node process measuring its own event-loop delay the same way. On a shared machine its
  // p99 shows how much of the edge's lag is only waiting for a CPU.
  const control = startProcess({
    name: 'idle control',
    command: process.execPath,
    args: [
      '-e',
      `const h = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 10 }); h.enable();
       setInterval(() => { console.log(JSON.stringify({ p99: h.percentile(99) / 1e6 })); h.reset(); }, ${SAMPLE_MS});`,
    ],
    keepLines: 100_000,
  });

  // Mixed bodies: 5 to 400 series, 1 to 3 samples each.
  const bodies = [5, 20, 50, 100, 200, 400].flatMap((n) =>
    [1, 3].map((s) => snappyBody(manySeries(n, 10, s))),
  );
  const checksums = bodies.map(sha);

  const pool = new Pool(edge.proxyUrl, { connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  const statuses = new Map<string, number>();
  const failures: string[] = [];
  const latencies: number[] = [];
  let sent = 0;
  let forwarded = 0;
  const started = Date.now();
  const endAt = started + DURATION_MS;
  const intervalMs = (1000 * CONCURRENCY) / RPS;

  const sender = async (w: number): Promise<void> => {
    let next = Date.now() + (w * intervalMs) / CONCURRENCY;
    for (let k = 0; Date.now() < endAt; k++) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next += intervalMs;
      const t = (w * 7919 + k * 104729) % TENANTS;
      const b = (w + k) % bodies.length;
      const id = `s${w}-${k}`;
      expected.set(id, checksums[b]!);
      sent++;
      const t0 = performance.now();
      try {
        const res = await pool.request({
          path: '/api/v1/push',
          method: 'POST',
          headers: {
            'content-type': 'application/x-protobuf',
            'content-encoding': 'snappy',
            'x-scope-orgid': tenantName(t),
            'x-request-id': id,
          },
          body: bodies[b]!,
        });
        await res.body.text();
        latencies.push(performance.now() - t0);
        const code = res.statusCode;
        statuses.set(String(code), (statuses.get(String(code)) ?? 0) + 1);
        if (code === 200) forwarded++;
        else if (!(code === 429 && t % TIGHT_EVERY === 0))
          failures.push(`${tenantName(t)} body ${b}: HTTP ${code}`);
      } catch (err) {
        failures.push(`${tenantName(t)} body ${b}: ${(err as Error).message}`);
        statuses.set('error', (statuses.get('error') ?? 0) + 1);
      }
      // The upstream has checked it by now (it answered before the edge did); forget it.
      expected.delete(id);
    }
  };

  const rss: [number, number][] = [];
  const lagP99: number[] = [];
  const lagWindows: { t: number; p99: number; max: number }[] = [];
  const scrapeMs: number[] = [];
  const sampler = setInterval(() => {
    const t = (Date.now() - started) / 1000;
    rss.push([t, rssMiB(pid)]);
    const scrapeStarted = performance.now();
    fetch(edge.metricsUrl).then(
      async (r) => {
        const text = await r.text();
        scrapeMs.push(performance.now() - scrapeStarted);
        const samples = parseExposition(text);
        const get = (name: string) => samples.find((s) => s.name === name)?.value ?? NaN;
        const p99 = get('nodejs_eventloop_lag_p99_seconds') * 1000;
        const max = get('nodejs_eventloop_lag_max_seconds') * 1000;
        if (t * 1000 >= WARMUP_MS) lagP99.push(p99);
        lagWindows.push({ t, p99, max });
      },
      () => {},
    );
    if (rss.length % 12 === 0)
      log(
        `${Math.round(t)} s: sent ${sent}, rss ${rss.at(-1)![1].toFixed(1)} MiB, lag p99 ${lagWindows.at(-1)?.p99.toFixed(1) ?? '?'} ms, failures ${failures.length}, mismatches ${mismatches}`,
      );
  }, SAMPLE_MS);

  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => sender(w)));
  clearInterval(sampler);
  const elapsedS = (Date.now() - started) / 1000;
  await pool.close();
  const exit = await edge.process.stop(15_000);
  await control.stop();
  const controlP99 = control
    .output()
    .split('\n')
    .map((line) => /\{"p99":([\d.]+)\}/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .slice(Math.ceil(WARMUP_MS / SAMPLE_MS));
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  await stopAllProcesses();

  const afterWarmup = rss.filter(([t]) => t * 1000 >= WARMUP_MS);
  const slopeMiBPerMin = slope(afterWarmup) * 60;
  const result = {
    bench: 'soak',
    duration_s: Math.round(elapsedS),
    tenants: TENANTS,
    target_rps: RPS,
    achieved_rps: Math.round((sent / elapsedS) * 10) / 10,
    sent,
    forwarded,
    arrived_upstream: arrived,
    statuses: Object.fromEntries(statuses),
    failures: failures.length,
    checksum_mismatches: mismatches,
    unknown_bodies: unknown,
    rss_mib_after_warmup_first: Math.round((afterWarmup[0]?.[1] ?? NaN) * 10) / 10,
    rss_mib_last: Math.round((rss.at(-1)?.[1] ?? NaN) * 10) / 10,
    rss_slope_mib_per_min: Math.round(slopeMiBPerMin * 1000) / 1000,
    event_loop_lag_p99_ms_median_window: Math.round(percentile(lagP99, 50) * 10) / 10,
    event_loop_lag_p99_ms_worst_window: Math.round(Math.max(0, ...lagP99) * 10) / 10,
    event_loop_lag_max_ms_median_window:
      Math.round(
        percentile(
          lagWindows.filter((w) => w.t * 1000 >= WARMUP_MS).map((w) => w.max),
          50,
        ) * 10,
      ) / 10,
    windows_with_lag_p99_over_20ms: lagP99.filter((v) => v > 20).length,
    windows: lagP99.length,
    idle_control_lag_p99_ms_median_window: Math.round(percentile(controlP99, 50) * 10) / 10,
    idle_control_lag_p99_ms_worst_window: Math.round(Math.max(0, ...controlP99) * 10) / 10,
    metrics_scrape_ms_p50: Math.round(percentile(scrapeMs, 50) * 10) / 10,
    metrics_scrape_ms_max: Math.round(Math.max(0, ...scrapeMs) * 10) / 10,
    load_average_at_end: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    client_latency_ms_p50: Math.round(percentile(latencies, 50) * 10) / 10,
    client_latency_ms_p99: Math.round(percentile(latencies, 99) * 10) / 10,
    edge_exit: exit,
  };
  for (const f of failures.slice(0, 10)) log(`failure: ${f}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(failures.length > 0 || mismatches > 0 || arrived !== forwarded ? 1 : 0);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
  await stopAllProcesses();
  process.exit(1);
});
