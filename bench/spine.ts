// `npm run bench:spine`: the enforcement spine's two costs, measured on this machine in one run.
//
// 1. Body path (in this process): a 2,000-series remote-write 1.0 body (12 labels, 1 sample per series)
//    through our scanner (+ decide, + snappy) side by side with protobufjs decoding it into objects.
// 2. Proxy path (child processes): an open-loop 200 req/s load of that body sent directly to a minimal
//    upstream, through an edge that passes the path through, and through an edge that enforces it; then a
//    closed-loop throughput run against both edges.
//
// Every phase also reports how much CPU other processes used meanwhile, and flags it when over 10%.
// Prints a table, then as the last line one JSON object (snake_case keys); progress goes to stderr.
// Knobs (env): BENCH_ROUNDS, BENCH_ROUND_MS, BENCH_WARMUP_MS, BENCH_RATE, BENCH_SECONDS, BENCH_CONCURRENCY,
// BENCH_CLOSED_SECONDS, BENCH_WAIT_QUIET_SECONDS, BENCH_EDGE_NODE_FLAGS, BENCH_ACTIVE_SERIES (see BENCHMARKS.md).

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import snappy from 'snappy';
import { loadSettings } from '../src/settings/settings.js';
import { decide } from '../src/decide/write-pipeline.js';
import { LimitsRegistry } from '../src/limits/limits-registry.js';
import {
  decompressSnappyBlock,
  describeSeries,
  ingestionCost,
  scanWriteRequest,
} from '../src/remote-write/index.js';
import type { RequestInfo } from '../src/remote-write/index.js';
import { InProcessRateStore } from '../src/stores/in-process-rate-store.js';
import { hashSeries } from '../src/remote-write/series-hash.js';
import type { SeriesHashSink } from '../src/remote-write/series-hash.js';
import { ActiveSeries } from '../src/observe/active-series/active-series.js';
import { OffThreadActiveSeries } from '../src/observe/active-series/off-thread.js';
import { stopAllProcesses } from '../test/helpers/child-process.js';
import { manySeries, snappyBody, writeRequestType } from '../test/helpers/write-request.js';
import { closedLoop, newPool, openLoop } from './lib/load.js';
import type { ClosedLoopResult, OpenLoopResult, RequestSpec } from './lib/load.js';
import { runMicro, sinkValue } from './lib/microbench.js';
import { timeHandover } from './lib/handover-bench.js';
import type { MicroResult } from './lib/microbench.js';
import {
  counterSum,
  gcEvents,
  histogramSumCount,
  mainIsolate,
  rssMb,
  startEdge,
  startUpstream,
} from './lib/processes.js';
import { cpuCount, cpuTimeMs, loadAverage, waitForQuiet, watchCpu } from './lib/machine.js';
import type { CpuShare } from './lib/machine.js';
import type { Child, EdgeChild } from './lib/processes.js';
import { round } from './lib/stats.js';
import { knob } from './lib/knob.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERIES = 2000;
const LABELS_PER_SERIES = 12;
const TENANT = 'bench';
const PUSH_PATH = '/api/v1/push';
const TARGET_SCAN_RATIO = 5;
const TARGET_P99_OVERHEAD_MS = 1;
/** Active series' cost per write, as a share of the scan (issue 20). */
const TARGET_ACTIVE_SERIES_PCT = 5;
/** The default ACTIVE_SERIES_SAMPLE_EVERY: one write in this many is read for the estimate. */
const SAMPLE_EVERY = loadSettings({}, []).activeSeries.sampleEvery;
/** The hand-over rows' ring: ACTIVE_SERIES_QUEUE_BYTES's default. */
const HANDOVER_QUEUE_BYTES = loadSettings({}, []).activeSeries.queueBytes;
/** CPU share used by other processes above which a phase's figures are flagged as perturbed. */
const NOISY_OTHER_CPU_PCT = 10;

const ROUNDS = knob('BENCH_ROUNDS', 7);
const ROUND_MS = knob('BENCH_ROUND_MS', 1000);
const WARMUP_MS = knob('BENCH_WARMUP_MS', 1000);
const RATE = knob('BENCH_RATE', 200);
const SECONDS = knob('BENCH_SECONDS', 10);
const CONCURRENCY = knob('BENCH_CONCURRENCY', 32);
const CLOSED_SECONDS = knob('BENCH_CLOSED_SECONDS', 5);
/** Up to this many seconds to wait, before each part, for other processes to leave the CPUs alone (0: don't). */
const WAIT_QUIET_SECONDS = knob('BENCH_WAIT_QUIET_SECONDS', 30, { zeroAllowed: true });
/** A phase disturbed by other processes is measured again at most this many times. */
const RETRIES = knob('BENCH_RETRIES', 2, { zeroAllowed: true });

const log = (msg: string): void => {
  process.stderr.write(`[bench] ${msg}\n`);
};

/** Before a part: how much CPU other processes use right now (3 s), waiting for quiet if asked to. */
async function backgroundCpu(part: string): Promise<number> {
  const other = await waitForQuiet(WAIT_QUIET_SECONDS * 1000, NOISY_OTHER_CPU_PCT, 3000, log);
  log(`${part}: other processes used ${fmt(other, 0)}% of the CPUs in the last 3 s`);
  return other;
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// 1. Body path
// ---------------------------------------------------------------------------------------------------------

interface BodyFigures {
  wireBytes: number;
  uncompressedBytes: number;
  results: Record<
    | 'scan'
    | 'decide'
    | 'scanDecide'
    | 'full'
    | 'pbDecode'
    | 'pbFull'
    | 'snappy'
    | 'seriesHash'
    | 'activeSeries'
    | 'handover'
    | 'handoverSampled'
    | 'workerRead',
    MicroResult
  >;
  cpu: CpuShare;
  /** Writes the hand-over rows could not hand over (the ring was full): 0 when the consumer kept up. */
  handoverDropped: number;
}

async function benchBody(body: Buffer): Promise<BodyFigures> {
  // Realistic default limits (Mimir's defaults as the edge loads them), with an ingestion bucket big enough
  // that every one of the millions of timed decisions is an allow.
  const settings = loadSettings(
    { DEFAULT_SAMPLES_PER_SECOND: '1000000000000', DEFAULT_BURST_SAMPLES: '1000000000000' },
    [],
  );
  const registry = new LimitsRegistry(settings.defaultLimits, settings.tenantEnforcement);
  const store = new InProcessRateStore();
  const maxBytes = settings.maxRequestBytes;
  const decoded = decompressSnappyBlock(body, maxBytes);

  // The scanner and the peer must agree on the body before either is timed.
  const info = scanWriteRequest(decoded, body.length);
  const peer = writeRequestType.decode(decoded) as unknown as { timeseries: { labels: unknown[] }[] };
  if (
    info.series !== SERIES ||
    ingestionCost(info) !== SERIES ||
    info.maxLabelNames !== LABELS_PER_SERIES ||
    peer.timeseries.length !== SERIES ||
    peer.timeseries[0]?.labels.length !== LABELS_PER_SERIES
  ) {
    throw new Error(
      `body check failed: scanner ${JSON.stringify(info)}, protobufjs ${peer.timeseries.length} series`,
    );
  }

  let denied = 0;
  // What the proxy does per request with the in-process store once the body is measured: resolve the
  // tenant's limits, then both phases (static checks, then the buckets) through decide().
  const decideInfo = (buf: Buffer, scanned: RequestInfo): number => {
    const d = decide({
      tenant: registry.forTenant(TENANT),
      tenantId: TENANT,
      store,
      nowMs: Date.now(),
      info: scanned,
      dryRun: false,
      body: buf,
      describeSeries,
    });
    if (!d.allowed) denied++;
    return scanned.series;
  };
  const decideOn = (buf: Buffer): number => decideInfo(buf, scanWriteRequest(buf, body.length));
  const protobufjsSeries = (buf: Uint8Array): number =>
    (writeRequestType.decode(buf) as unknown as { timeseries: unknown[] }).timeseries.length;

  // Active series (docs/active-series.md): the series-hash pass alone, and what the tracker does with a write it
  // reads (hash pass, sketch, new-series filter), in steady state: the same 2,000 series again and again.
  let hashed = 0;
  const countingSink: SeriesHashSink = { series: () => void hashed++ };
  const tracker = new ActiveSeries({
    windowMs: 20 * 60_000,
    maxTenants: 10,
    sampleEvery: 1,
    filterMaxBytes: 1 << 20,
    refreshMs: 10_000,
  });
  // Off the event loop (docs/active-series.md#off-the-event-loop): what the event loop pays to hand a write to the
  // worker (every write: sampleEvery 1; and at the default sampling, so the mean is per write), with a consumer
  // that drops what it takes; and what the worker then does with a write on its own thread (decode + read).
  const handoverOf = (sampleEvery: number) => {
    const options = { ...tracker.options, sampleEvery, queueBytes: HANDOVER_QUEUE_BYTES };
    return new OffThreadActiveSeries(options, {
      main: new ActiveSeries(options),
      redis: undefined,
      now: Date.now,
      log: (level, msg, err) => log(`${level}: ${msg}: ${err}`),
      entry: { url: new URL('./lib/ring-drain-worker.ts', import.meta.url), tsx: true },
    });
  };
  const handover = handoverOf(1);
  const handoverSampled = handoverOf(SAMPLE_EVERY);
  const workerTracker = new ActiveSeries(tracker.options);
  const cases = [
    { name: 'scan', run: () => scanWriteRequest(decoded, body.length).series },
    {
      name: 'workerRead',
      run: () =>
        workerTracker.observe(TENANT, decompressSnappyBlock(body, maxBytes), 'prw1', Date.now(), true)
          ? SERIES
          : 0,
    },
    { name: 'seriesHash', run: () => hashSeries(decoded, 'prw1', countingSink) },
    {
      name: 'activeSeries',
      run: () => (tracker.observe(TENANT, decoded, 'prw1', Date.now(), true) ? SERIES : 0),
    },
    { name: 'decide', run: () => decideInfo(decoded, info) },
    { name: 'scanDecide', run: () => decideOn(decoded) },
    { name: 'full', run: () => decideOn(decompressSnappyBlock(body, maxBytes)) },
    { name: 'pbDecode', run: () => protobufjsSeries(decoded) },
    { name: 'pbFull', run: () => protobufjsSeries(snappy.uncompressSync(body) as Buffer) },
    { name: 'snappy', run: () => decompressSnappyBlock(body, maxBytes).length },
  ] as const;
  log(
    `body path: ${cases.length} cases, warm-up ${WARMUP_MS} ms each, ${ROUNDS} rounds of >= ${ROUND_MS} ms each`,
  );
  const stopWatch = watchCpu();
  const results = await runMicro(
    cases,
    {
      warmupMs: WARMUP_MS,
      roundMs: ROUND_MS,
      rounds: ROUNDS,
      minIterations: 20,
      maxOtherCpuPct: NOISY_OTHER_CPU_PCT,
      retries: RETRIES,
    },
    log,
  );
  log('body path: the hand-over to the active-series worker, call by call');
  results.push(
    ...(await timeHandover(
      [
        {
          name: 'handover',
          tracker: handover,
          run: () => handover.observe(TENANT, decoded, 'prw1', Date.now(), false, body),
        },
        {
          name: 'handoverSampled',
          tracker: handoverSampled,
          run: () => handoverSampled.observe(TENANT, decoded, 'prw1', Date.now(), false, body),
        },
      ],
      { warmupMs: WARMUP_MS, roundMs: ROUND_MS, rounds: ROUNDS, queueBytes: HANDOVER_QUEUE_BYTES },
    )),
  );
  const cpu = stopWatch();
  const handoverDropped =
    handover.handover.dropped.queue_full +
    handover.handover.dropped.worker_down +
    handoverSampled.handover.dropped.queue_full +
    handoverSampled.handover.dropped.worker_down;
  await Promise.all([handover.close(), handoverSampled.close()]);
  if (denied > 0)
    throw new Error(`decide() denied ${denied} timed requests; the bucket was meant to allow all`);
  if (sinkValue() === 0) throw new Error('benchmark sink is empty');
  if (hashed === 0 || tracker.seriesRead === 0) throw new Error('the active-series cases read no series');
  const byName = Object.fromEntries(results.map((r) => [r.name, r])) as BodyFigures['results'];
  return { wireBytes: body.length, uncompressedBytes: decoded.length, results: byName, cpu, handoverDropped };
}

// ---------------------------------------------------------------------------------------------------------
// 2. Proxy path
// ---------------------------------------------------------------------------------------------------------

interface OpenRun {
  target: string;
  result: OpenLoopResult;
  /** CPU ms the receiving process (the edge; the upstream for direct) spent per request during the run. */
  serverCpuMsPerReq: number;
  /** The edge's GC during the run, from its --trace-gc output (undefined for direct): main-thread pauses plus
   * incremental-marking steps per request, the longest pause, and the count of each kind. */
  gc:
    | {
        mainThreadMsPerReq: number;
        maxPauseMs: number;
        markCompacts: number;
        scavenges: number;
        /** Mark-compacts of other isolates (the active-series worker): they pause only their thread. */
        otherThreadMarkCompacts: number;
      }
    | undefined;
  /** The edge's own mean check and parse time during the run (rls_*_duration_seconds), µs; NaN for direct. */
  checkMeanUs: number;
  parseMeanUs: number;
  cpu: CpuShare;
  attempts: number;
}

interface ClosedRun {
  target: string;
  result: ClosedLoopResult;
  serverCpuMsPerReq: number;
  cpu: CpuShare;
  attempts: number;
}

/**
 * Runs `attempt` and, while other processes used more than NOISY_OTHER_CPU_PCT of the CPUs during it, waits
 * for a quieter moment and runs it again, at most RETRIES more times; returns the least disturbed attempt.
 */
async function leastDisturbed<T extends { cpu: CpuShare; attempts: number }>(
  label: string,
  attempt: () => Promise<T>,
): Promise<T> {
  let best = await attempt();
  let attempts = 1;
  while (best.cpu.otherPct > NOISY_OTHER_CPU_PCT && attempts <= RETRIES) {
    log(`${label}: other processes used ${fmt(best.cpu.otherPct, 0)}% of the CPUs; measuring again`);
    await waitForQuiet(WAIT_QUIET_SECONDS * 1000, NOISY_OTHER_CPU_PCT, 3000, log);
    const again = await attempt();
    attempts++;
    if (again.cpu.otherPct < best.cpu.otherPct) best = again;
  }
  return { ...best, attempts };
}

interface ProxyFigures {
  open: OpenRun[];
  closed: ClosedRun[];
  enforcedAllowed: number;
  passThroughDecisions: number;
  edgeRssMb: { passThrough: number; enforced: number };
  buildWarning: string | undefined;
}

function build(): string | undefined {
  log('building the edge: tsc -p tsconfig.build.json');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
    return undefined;
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? String(err);
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli.js')))
      throw new Error(`build failed:\n${out}`, { cause: err });
    const first = out.split('\n').slice(0, 5).join('\n');
    log(`WARNING: tsc reported errors but emitted dist/; benchmarking what it emitted:\n${first}`);
    return first;
  }
}

async function metricsText(edge: EdgeChild): Promise<string> {
  const res = await fetch(edge.metricsUrl, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

interface EdgeCounters {
  checkSum: number;
  checkCount: number;
  parseSum: number;
  parseCount: number;
  decisions: number;
  allowed: number;
}

/** The edge's own counters from /metrics: check and parse histograms, GC, decisions. */
async function edgeCounters(edge: EdgeChild): Promise<EdgeCounters> {
  const text = await metricsText(edge);
  const check = histogramSumCount(text, 'rls_authz_check_duration_seconds', 'transport="http"');
  const parse = histogramSumCount(text, 'rls_body_parse_duration_seconds', 'format="prw1"');
  return {
    checkSum: check.sum,
    checkCount: check.count,
    parseSum: parse.sum,
    parseCount: parse.count,
    decisions: counterSum(text, 'rls_decisions_total'),
    allowed: counterSum(text, 'rls_decisions_total', ['decision="allow"', `tenant="${TENANT}"`]),
  };
}

async function benchProxy(body: Buffer): Promise<ProxyFigures> {
  const buildWarning = build();
  const upstream: Child = await startUpstream();
  const limitsEnv: Record<string, string> = {
    DEFAULT_SAMPLES_PER_SECOND: '1000000000000',
    DEFAULT_BURST_SAMPLES: '1000000000000',
  };
  // BENCH_ACTIVE_SERIES=true|false runs the edges with active series on or off (unset: the default).
  const activeSeries = process.env.BENCH_ACTIVE_SERIES;
  if (activeSeries === 'true' || activeSeries === 'false') limitsEnv.ACTIVE_SERIES_ENABLED = activeSeries;
  log(`edges' ACTIVE_SERIES_ENABLED: ${limitsEnv.ACTIVE_SERIES_ENABLED ?? 'the default'}`);
  // --trace-gc prints one short line per GC; both edges pay it alike, and it shows where the tail comes from.
  // The edges run with the flags the Dockerfile and `npm start` give them (--no-memory-reducer); each edge sits
  // idle while the targets before it run, which without that flag leaves it doing a full GC every ~18 requests.
  // BENCH_EDGE_NODE_FLAGS overrides them ('' to measure without).
  const nodeArgs = [
    '--trace-gc',
    ...(process.env.BENCH_EDGE_NODE_FLAGS ?? '--no-memory-reducer').split(' ').filter(Boolean),
  ];
  const passThrough = await startEdge(
    ROOT,
    'edge (pass-through)',
    upstream.url,
    { ...limitsEnv, REMOTE_WRITE_PATHS: '/not-enforced' },
    nodeArgs,
  );
  const enforced = await startEdge(ROOT, 'edge (enforced)', upstream.url, limitsEnv, nodeArgs);
  log(
    `upstream pid ${upstream.proc.pid}, pass-through edge pid ${passThrough.proc.pid}, enforced edge pid ${enforced.proc.pid}`,
  );
  const pids = [upstream.proc.pid, passThrough.proc.pid, enforced.proc.pid];

  const headers = {
    'content-type': 'application/x-protobuf',
    'content-encoding': 'snappy',
    'x-prometheus-remote-write-version': '0.1.0',
    'x-scope-orgid': TENANT,
  };
  const targets: { name: string; origin: string; server: Child; edge?: EdgeChild }[] = [
    { name: 'direct', origin: upstream.url, server: upstream },
    { name: 'passthrough', origin: passThrough.url, server: passThrough, edge: passThrough },
    { name: 'enforced', origin: enforced.url, server: enforced, edge: enforced },
  ];
  const pools = new Map(targets.map((t) => [t.name, newPool(t.origin, 64)]));
  const spec = (origin: string): RequestSpec => ({ origin, path: PUSH_PATH, headers, body });
  const open: OpenRun[] = [];
  const closed: ClosedRun[] = [];
  try {
    for (const t of targets) {
      const pool = pools.get(t.name)!;
      const run = await leastDisturbed(`open loop ${t.name}`, async (): Promise<OpenRun> => {
        log(`open loop ${t.name}: warm-up (closed loop, 4 concurrent, 2 s)`);
        const warm = await closedLoop(pool, spec(t.origin), 4, 2000);
        if (warm.errors > 0)
          throw new Error(`${t.name} warm-up: ${warm.errors} errors, first: ${warm.firstError}`);
        const before = t.edge ? await edgeCounters(t.edge) : undefined;
        const gcBefore = t.edge ? gcEvents(t.edge.proc.output()).length : 0;
        const cpu0 = cpuTimeMs(t.server.proc.pid);
        log(`open loop ${t.name}: ${RATE} req/s for ${SECONDS} s`);
        const stopWatch = watchCpu(pids);
        const result = await openLoop(pool, spec(t.origin), RATE, SECONDS * 1000);
        const cpu = stopWatch();
        const serverCpuMsPerReq = (cpuTimeMs(t.server.proc.pid) - cpu0) / result.sent;
        const gcAll = t.edge ? gcEvents(t.edge.proc.output()).slice(gcBefore) : undefined;
        // The event loop's isolate only (the oldest); the active-series worker's GC pauses only the worker, and is
        // counted apart.
        const main = gcAll && mainIsolate(gcAll);
        const gcRun = gcAll?.filter((e) => e.isolate === main);
        const otherMarkCompacts = (gcAll ?? []).filter(
          (e) => e.isolate !== main && e.kind === 'mark-compact',
        ).length;
        const after = t.edge ? await edgeCounters(t.edge) : undefined;
        const mean = (sum: number, count: number) => (sum / count) * 1e6;
        return {
          target: t.name,
          result,
          serverCpuMsPerReq,
          gc: gcRun && {
            mainThreadMsPerReq: gcRun.reduce((acc, e) => acc + e.pauseMs + e.stepsMs, 0) / result.sent,
            maxPauseMs: Math.max(0, ...gcRun.map((e) => e.pauseMs)),
            markCompacts: gcRun.filter((e) => e.kind === 'mark-compact').length,
            scavenges: gcRun.filter((e) => e.kind === 'scavenge').length,
            otherThreadMarkCompacts: otherMarkCompacts,
          },
          checkMeanUs:
            before && after
              ? mean(after.checkSum - before.checkSum, after.checkCount - before.checkCount)
              : NaN,
          parseMeanUs:
            before && after
              ? mean(after.parseSum - before.parseSum, after.parseCount - before.parseCount)
              : NaN,
          cpu,
          attempts: 1,
        };
      });
      open.push(run);
    }
    for (const t of targets) {
      const pool = pools.get(t.name)!;
      const run = await leastDisturbed(`closed loop ${t.name}`, async (): Promise<ClosedRun> => {
        log(`closed loop ${t.name}: ${CONCURRENCY} concurrent for ${CLOSED_SECONDS} s`);
        const cpu0 = cpuTimeMs(t.server.proc.pid);
        const stopWatch = watchCpu(pids);
        const result = await closedLoop(pool, spec(t.origin), CONCURRENCY, CLOSED_SECONDS * 1000);
        const cpu = stopWatch();
        return {
          target: t.name,
          result,
          serverCpuMsPerReq: (cpuTimeMs(t.server.proc.pid) - cpu0) / result.sent,
          cpu,
          attempts: 1,
        };
      });
      closed.push(run);
    }
    const enforcedTotals = await edgeCounters(enforced);
    const passTotals = await edgeCounters(passThrough);
    return {
      open,
      closed,
      enforcedAllowed: enforcedTotals.allowed,
      passThroughDecisions: passTotals.decisions,
      edgeRssMb: { passThrough: rssMb(passThrough.proc.pid), enforced: rssMb(enforced.proc.pid) },
      buildWarning,
    };
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
    await stopAllProcesses(5000);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------

function report(bodyFig: BodyFigures, proxy: ProxyFigures, loadAtStart: string): void {
  const { wireBytes: wire, uncompressedBytes: raw, results: r } = bodyFig;
  const mbps = (bytes: number, us: number) => bytes / us; // bytes per µs = MB/s (1 MB = 10^6 bytes)
  const scanRatio = r.pbDecode.medianUs / r.scanDecide.medianUs;
  const scanOnlyRatio = r.pbDecode.medianUs / r.scan.medianUs;
  const e2eRatio = r.pbFull.medianUs / r.full.medianUs;
  const noisy: string[] = [];
  const otherCpuMax = (m: MicroResult): string => {
    const max = Math.max(...m.otherCpuPct);
    if (max > NOISY_OTHER_CPU_PCT)
      noisy.push(`body path ${m.name}: other processes used up to ${fmt(max, 0)}%`);
    return fmt(max, 0);
  };
  const otherCpu = (phase: string, cpu: CpuShare): string => {
    if (cpu.otherPct > NOISY_OTHER_CPU_PCT)
      noisy.push(`${phase}: other processes used ${fmt(cpu.otherPct, 0)}%`);
    return fmt(cpu.otherPct, 0);
  };

  const out: string[] = [];
  out.push('');
  out.push(
    `machine: ${cpuCount()} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; load average at start ${loadAtStart}`,
  );
  out.push(
    `body: ${SERIES} series x ${LABELS_PER_SERIES} labels x 1 sample, remote write 1.0; ${wire} bytes snappy on the wire, ${raw} bytes protobuf`,
  );
  out.push('');
  out.push(
    `1. Body path, in-process (median of ${ROUNDS} rounds of >= ${ROUND_MS} ms; min..max over rounds; a round disturbed ` +
      `by other processes is measured again up to ${RETRIES} times; over the whole phase they used ${fmt(bodyFig.cpu.otherPct, 0)}% of the CPUs)`,
  );
  const bodyRow = (label: string, m: MicroResult): string[] => [
    label,
    fmt(m.medianUs, 1),
    `${fmt(m.minUs, 1)}..${fmt(m.maxUs, 1)}`,
    fmt(mbps(raw, m.medianUs), 0),
    fmt(mbps(wire, m.medianUs), 0),
    String(Math.round(m.iterations.reduce((a, b) => a + b, 0) / m.iterations.length)),
    String(m.retried),
    otherCpuMax(m),
  ];
  out.push(
    table(
      [
        'case',
        'us/op',
        'rounds us/op',
        'MB/s protobuf',
        'MB/s wire',
        'ops/round',
        'retried',
        'other CPU % (max)',
      ],
      [
        bodyRow('(a) scanWriteRequest', r.scan),
        bodyRow('(b) scan + decide', r.scanDecide),
        bodyRow('(c) snappy + scan + decide', r.full),
        bodyRow('(d) protobufjs decode', r.pbDecode),
        bodyRow('(e) snappy + protobufjs decode', r.pbFull),
        bodyRow('(-) decide alone', r.decide),
        bodyRow('(-) snappy decompress alone', r.snappy),
        bodyRow('(f) series-hash pass alone', r.seriesHash),
        bodyRow('(g) active series: read a write', r.activeSeries),
        bodyRow('(h) active series: hand a write to the worker', r.handover),
        bodyRow(`(h${SAMPLE_EVERY}) the same, per write (1 in ${SAMPLE_EVERY} read)`, r.handoverSampled),
        bodyRow('(i) worker: decode + read a write (its thread)', r.workerRead),
      ],
    ),
  );
  out.push('');
  out.push(
    `scan_vs_protobufjs (d / b) = ${fmt(scanRatio)}x   target >= ${TARGET_SCAN_RATIO}x: ${scanRatio >= TARGET_SCAN_RATIO ? 'MET' : 'NOT MET'}`,
  );
  out.push(
    `scan only (d / a) = ${fmt(scanOnlyRatio)}x   end to end incl. snappy (e / c) = ${fmt(e2eRatio)}x`,
  );
  const seriesShare = r.activeSeries.medianUs / r.scan.medianUs;
  out.push(
    `active series per write read (g / a) = ${fmt(seriesShare * 100, 1)}% of the scan; hash pass alone (f / a) = ${fmt((r.seriesHash.medianUs / r.scan.medianUs) * 100, 1)}%; ` +
      `per write at ACTIVE_SERIES_SAMPLE_EVERY=${SAMPLE_EVERY} (g / ${SAMPLE_EVERY} / a) = ${fmt((seriesShare / SAMPLE_EVERY) * 100, 1)}% (in thread)`,
  );
  const handoverShare = r.handover.medianUs / r.scan.medianUs;
  const perWriteShare = r.handoverSampled.medianUs / r.scan.medianUs;
  out.push(
    `active series off the event loop: the event loop pays per write read (h / a) = ${fmt(handoverShare * 100, 1)}% of the scan; ` +
      `per write (h${SAMPLE_EVERY} / a) = ${fmt(perWriteShare * 100, 1)}%   target < ${TARGET_ACTIVE_SERIES_PCT}%: ${perWriteShare * 100 < TARGET_ACTIVE_SERIES_PCT ? 'MET' : 'NOT MET'}; ` +
      `the worker's thread per write read (i / a) = ${fmt((r.workerRead.medianUs / r.scan.medianUs) * 100, 1)}%; writes not handed over (ring full) ${bodyFig.handoverDropped}`,
  );

  const byTarget = new Map(proxy.open.map((o) => [o.target, o]));
  const pass = byTarget.get('passthrough')!;
  const enf = byTarget.get('enforced')!;
  const direct = byTarget.get('direct')!;
  const overP99 = enf.result.latency.p99 - pass.result.latency.p99;
  const overP50 = enf.result.latency.p50 - pass.result.latency.p50;
  out.push('');
  out.push(
    `2. Proxy path, open loop: ${RATE} req/s for ${SECONDS} s per target, after a 2 s warm-up; latency from dispatch to response body read`,
  );
  out.push(
    table(
      [
        'target',
        'sent',
        'ok',
        'err',
        'req/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'server CPU ms/req',
        'edge GC ms/req',
        'GC max ms',
        'mark-compacts',
        'gen lag p99 ms',
        'other CPU %',
        'tries',
      ],
      proxy.open.map((o) => [
        o.target,
        String(o.result.sent),
        String(o.result.ok),
        String(o.result.errors),
        fmt(o.result.achievedRps, 1),
        fmt(o.result.latency.p50, 3),
        fmt(o.result.latency.p90, 3),
        fmt(o.result.latency.p99, 3),
        fmt(o.result.latency.max, 3),
        fmt(o.serverCpuMsPerReq, 3),
        fmt(o.gc?.mainThreadMsPerReq ?? NaN, 3),
        fmt(o.gc?.maxPauseMs ?? NaN, 1),
        o.gc ? String(o.gc.markCompacts) : 'n/a',
        fmt(o.result.scheduleLagP99Ms, 2),
        otherCpu(`open loop ${o.target}`, o.cpu),
        String(o.attempts),
      ]),
    ),
  );
  out.push(
    `edge GC columns: the event loop's isolate only; other threads' (the active-series worker's) mark-compacts: ` +
      proxy.open.map((o) => `${o.target} ${o.gc?.otherThreadMarkCompacts ?? 'n/a'}`).join(', '),
  );
  out.push('');
  out.push(
    `proxy_p99_overhead_ms (enforced p99 - pass-through p99) = ${fmt(overP99, 3)}   target <= ${TARGET_P99_OVERHEAD_MS} ms: ${overP99 <= TARGET_P99_OVERHEAD_MS ? 'MET' : 'NOT MET'}`,
  );
  out.push(
    `p50 overhead = ${fmt(overP50, 3)} ms; pass-through edge vs direct: p50 +${fmt(pass.result.latency.p50 - direct.result.latency.p50, 3)} ms, p99 +${fmt(pass.result.latency.p99 - direct.result.latency.p99, 3)} ms`,
  );
  out.push(
    `enforced edge's own timing during its run: rls_authz_check_duration_seconds mean ${fmt(enf.checkMeanUs, 0)} us, of which rls_body_parse_duration_seconds (snappy + scan) ${fmt(enf.parseMeanUs, 0)} us`,
  );
  out.push(
    `sanity: enforced edge allowed ${proxy.enforcedAllowed} requests, pass-through edge decided ${proxy.passThroughDecisions} (rls_decisions_total); ` +
      `edge RSS at the end: pass-through ${fmt(proxy.edgeRssMb.passThrough, 0)} MB, enforced ${fmt(proxy.edgeRssMb.enforced, 0)} MB`,
  );
  out.push(`edges ran with ACTIVE_SERIES_ENABLED=${process.env.BENCH_ACTIVE_SERIES ?? '(the default)'}`);
  out.push('');
  out.push(`3. Proxy path, closed loop: ${CONCURRENCY} concurrent for ${CLOSED_SECONDS} s per target`);
  out.push(
    table(
      [
        'target',
        'ok',
        'err',
        'req/s',
        'MB/s wire',
        'MB/s protobuf',
        'p50 ms',
        'p99 ms',
        'server CPU ms/req',
        'other CPU %',
        'tries',
      ],
      proxy.closed.map((c) => [
        c.target,
        String(c.result.ok),
        String(c.result.errors),
        fmt(c.result.achievedRps, 1),
        fmt((c.result.achievedRps * wire) / 1e6, 1),
        fmt((c.result.achievedRps * raw) / 1e6, 1),
        fmt(c.result.latency.p50, 2),
        fmt(c.result.latency.p99, 2),
        fmt(c.serverCpuMsPerReq, 3),
        otherCpu(`closed loop ${c.target}`, c.cpu),
        String(c.attempts),
      ]),
    ),
  );
  out.push('');
  if (proxy.buildWarning)
    out.push(`WARNING: the build reported errors (dist/ was still emitted):\n${proxy.buildWarning}`);
  for (const x of [...proxy.open, ...proxy.closed].filter((y) => y.result.errors > 0)) {
    out.push(`WARNING: ${x.target}: ${x.result.errors} errors, first: ${x.result.firstError}`);
  }
  for (const n of noisy) {
    out.push(
      `WARNING: ${n} of the machine's CPU during this phase (> ${NOISY_OTHER_CPU_PCT}%): figures perturbed`,
    );
  }
  process.stdout.write(out.join('\n') + '\n');

  const json: Record<string, number | boolean | string> = {
    body_series: SERIES,
    body_labels_per_series: LABELS_PER_SERIES,
    body_bytes_wire: wire,
    body_bytes_uncompressed: raw,
    rounds: ROUNDS,
    round_ms: ROUND_MS,
    body_other_cpu_pct: round(bodyFig.cpu.otherPct, 1),
  };
  const micro: [string, MicroResult][] = [
    ['scan', r.scan],
    ['scan_decide', r.scanDecide],
    ['measure_full', r.full],
    ['protobufjs_decode', r.pbDecode],
    ['protobufjs_full', r.pbFull],
    ['decide', r.decide],
    ['snappy_decompress', r.snappy],
    ['series_hash', r.seriesHash],
    ['active_series_read', r.activeSeries],
    ['active_series_handover', r.handover],
    ['active_series_handover_per_write', r.handoverSampled],
    ['active_series_worker_read', r.workerRead],
  ];
  for (const [key, m] of micro) {
    json[`${key}_us`] = round(m.medianUs, 2);
    json[`${key}_us_min`] = round(m.minUs, 2);
    json[`${key}_us_max`] = round(m.maxUs, 2);
    json[`${key}_mb_s_uncompressed`] = round(mbps(raw, m.medianUs), 1);
    json[`${key}_mb_s_wire`] = round(mbps(wire, m.medianUs), 1);
    json[`${key}_other_cpu_pct_max`] = round(Math.max(...m.otherCpuPct), 1);
  }
  json.scan_vs_protobufjs = round(scanRatio, 2);
  json.scan_only_vs_protobufjs = round(scanOnlyRatio, 2);
  json.end_to_end_vs_protobufjs = round(e2eRatio, 2);
  json.scan_target_met = scanRatio >= TARGET_SCAN_RATIO;
  json.active_series_read_pct_of_scan = round(seriesShare * 100, 1);
  json.active_series_in_thread_per_write_pct_of_scan = round((seriesShare / SAMPLE_EVERY) * 100, 1);
  json.active_series_handover_pct_of_scan = round(handoverShare * 100, 1);
  json.active_series_per_write_pct_of_scan = round(perWriteShare * 100, 1);
  json.active_series_target_met = perWriteShare * 100 < TARGET_ACTIVE_SERIES_PCT;
  json.active_series_handover_dropped = bodyFig.handoverDropped;
  json.active_series_sample_every = SAMPLE_EVERY;
  json.open_rate_offered = RATE;
  json.open_seconds = SECONDS;
  for (const o of proxy.open) {
    const p = `open_${o.target}`;
    json[`${p}_achieved_rps`] = round(o.result.achievedRps, 1);
    json[`${p}_ok`] = o.result.ok;
    json[`${p}_errors`] = o.result.errors;
    json[`${p}_p50_ms`] = round(o.result.latency.p50);
    json[`${p}_p90_ms`] = round(o.result.latency.p90);
    json[`${p}_p99_ms`] = round(o.result.latency.p99);
    json[`${p}_max_ms`] = round(o.result.latency.max);
    json[`${p}_server_cpu_ms_per_req`] = round(o.serverCpuMsPerReq);
    if (o.gc) {
      json[`${p}_edge_gc_main_thread_ms_per_req`] = round(o.gc.mainThreadMsPerReq);
      json[`${p}_edge_gc_max_pause_ms`] = round(o.gc.maxPauseMs);
      json[`${p}_edge_mark_compacts`] = o.gc.markCompacts;
      json[`${p}_edge_scavenges`] = o.gc.scavenges;
      json[`${p}_edge_other_thread_mark_compacts`] = o.gc.otherThreadMarkCompacts;
    }
    json[`${p}_schedule_lag_p99_ms`] = round(o.result.scheduleLagP99Ms);
    json[`${p}_other_cpu_pct`] = round(o.cpu.otherPct, 1);
    json[`${p}_attempts`] = o.attempts;
  }
  json.proxy_p99_overhead_ms = round(overP99);
  json.proxy_p50_overhead_ms = round(overP50);
  json.proxy_target_met = overP99 <= TARGET_P99_OVERHEAD_MS;
  json.edge_check_mean_us = round(enf.checkMeanUs, 1);
  json.edge_parse_mean_us = round(enf.parseMeanUs, 1);
  json.closed_concurrency = CONCURRENCY;
  json.closed_seconds = CLOSED_SECONDS;
  for (const c of proxy.closed) {
    const p = `closed_${c.target}`;
    json[`${p}_rps`] = round(c.result.achievedRps, 1);
    json[`${p}_mb_s_wire`] = round((c.result.achievedRps * wire) / 1e6, 1);
    json[`${p}_mb_s_uncompressed`] = round((c.result.achievedRps * raw) / 1e6, 1);
    json[`${p}_p99_ms`] = round(c.result.latency.p99);
    json[`${p}_errors`] = c.result.errors;
    json[`${p}_server_cpu_ms_per_req`] = round(c.serverCpuMsPerReq);
    json[`${p}_other_cpu_pct`] = round(c.cpu.otherPct, 1);
    json[`${p}_attempts`] = c.attempts;
  }
  json.perturbed = noisy.length > 0;
  process.stdout.write(JSON.stringify(json) + '\n');
}

async function main(): Promise<void> {
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping children`);
    void stopAllProcesses(2000).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const loadAtStart = loadAverage();
  const body = snappyBody(manySeries(SERIES, LABELS_PER_SERIES));
  await backgroundCpu('body path');
  const bodyFig = await benchBody(body);
  await backgroundCpu('proxy path');
  const proxy = await benchProxy(body);
  report(bodyFig, proxy, loadAtStart);
}

main().catch(async (err: unknown) => {
  await stopAllProcesses(2000);
  process.stderr.write(
    `bench:spine failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
