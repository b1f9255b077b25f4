// `npm run bench:grpc`: the Envoy-facing gRPC ports under h2load (Debian's nghttp2-client), in one run
// beside a bare @grpc/grpc-js server answering the same RPC with a constant (the framework's own ceiling).
//
// 1. ShouldRateLimit with a real decision (descriptor match, fixed-window count, encoded statuses) on the
//    edge's ratelimit port, vs the bare grpc-js echo. Target: >= 1.2x the echo's decisions/s.
// 2. ext_authz Check carrying a 100 KB remote-write body: 100 KB as sent (snappy-compressed, ~500 KB once
//    decompressed), which is the headline `check_100kb_per_s`; target >= 5,000/s. For comparison, a body of
//    100 KB once decompressed (~21 KB on the wire) is run too. Both are decompressed, scanned and decided by the
//    same WriteChecker as the proxy, and the in-process cost of that measure step alone is printed beside them.
//
// Besides throughput, each run reports the server's own CPU time per call (from /proc), which moves much less
// than throughput when other work shares the machine.
//
// Servers run as child processes on 127.0.0.1 (stopped by PID); each load run is bounded by a request
// count. Prints a table, then one JSON line. Knobs (env): BENCH_ROUNDS, BENCH_RLS_REQUESTS,
// BENCH_CHECK_REQUESTS, BENCH_CONNECTIONS, BENCH_STREAMS, BENCH_WAIT_QUIET_SECONDS, BENCH_CPU_PROF.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import { request } from 'undici';
import { startProcess, stopAllProcesses, waitForHttp } from '../test/helpers/child-process.js';
import type { ManagedProcess } from '../test/helpers/child-process.js';
import { requireDebianBinary } from '../test/helpers/debian.js';
import { ENVOY_PROTO_DIRS, EnvoyClient } from '../test/helpers/grpc-client.js';
import { freePorts } from '../test/helpers/ports.js';
import { manySeries, snappyBody } from '../test/helpers/write-request.js';
import { SETTING_DEFINITIONS } from '../src/settings/settings.js';
import { isUnsupportedMediaType, measureBody, selectDecoder } from '../src/remote-write/format.js';
import { snappyUncompressedLength } from '../src/remote-write/snappy-block.js';
import { clockTicks, cpuTimeMs, loadAverage, waitForQuiet, watchCpu } from './lib/machine.js';
import { counterSum } from './lib/processes.js';
import { median, percentile, round } from './lib/stats.js';
import { knob } from './lib/knob.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RLS_PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';
const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

const ROUNDS = knob('BENCH_ROUNDS', 3, { whole: true });
const RLS_REQUESTS = knob('BENCH_RLS_REQUESTS', 100_000, { whole: true });
const CHECK_REQUESTS = knob('BENCH_CHECK_REQUESTS', 15_000, { whole: true });
const CONNECTIONS = knob('BENCH_CONNECTIONS', 4, { whole: true });
const STREAMS = knob('BENCH_STREAMS', 16, { whole: true });
/** Up to this many seconds are spent waiting for other processes to use < 20% of the CPUs before timing. */
const WAIT_QUIET_SECONDS = knob('BENCH_WAIT_QUIET_SECONDS', 30, { whole: true });

function cpuProfArgs(): string[] {
  const dir = process.env['BENCH_CPU_PROF'];
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
}

/** The whole bare server, run with `node -e`: grpc-js, identity (de)serializers, a constant reply. */
const BARE_SOURCE = `
const grpc = require(${JSON.stringify(join(ROOT, 'node_modules/@grpc/grpc-js'))});
const reply = Buffer.from([8, 1]);
const id = (b) => b;
const server = new grpc.Server();
server.addService({ ShouldRateLimit: { path: ${JSON.stringify(RLS_PATH)}, requestStream: false, responseStream: false,
  requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } },
  { ShouldRateLimit: (call, callback) => callback(null, reply) });
server.bindAsync('127.0.0.1:' + process.env.BENCH_PORT, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) { console.error(err); process.exit(1); }
  console.log('listening');
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
`;

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

interface H2Result {
  perSecond: number;
  p99Ms: number;
  succeeded: number;
  requests: number;
  /** The server process's user + system CPU time per call, in µs. */
  serverCpuUs: number;
  /** h2load's CPU time per call, in µs (it shares the machine's cores with the server). */
  clientCpuUs: number;
  /** Share of all CPUs used by processes other than h2load and the server under test during the run (%). */
  otherPct: number;
}

/** CPU time (ms) of this process's children that have exited and been waited for (cutime + cstime). */
function reapedChildrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks();
  } catch {
    return NaN;
  }
}

/**
 * One bounded h2load run against the server whose PID is `serverPid`; p99 from h2load's per-request log (it
 * prints only mean and sd). h2load's own flow-control windows (-w/-W) stay at their defaults of 2^30-1, and the
 * edge announces a 1 MiB stream window and a 32 MiB connection window: a 100 KB request never waits for a
 * WINDOW_UPDATE.
 */
function h2load(
  bin: string,
  url: string,
  bodyFile: string,
  requests: number,
  dir: string,
  serverPid: number,
): H2Result {
  if (!url.startsWith('http://127.0.0.1:'))
    throw new Error(`benchmarks only load 127.0.0.1, refusing ${url}`);
  const log = join(dir, `h2load-${Date.now()}.log`);
  const cpuBefore = cpuTimeMs(serverPid);
  const clientBefore = reapedChildrenCpuMs();
  const stopWatch = watchCpu([serverPid]);
  const started = process.hrtime.bigint();
  const out = execFileSync(
    bin,
    [
      '-n',
      String(requests),
      '-c',
      String(CONNECTIONS),
      '-m',
      String(STREAMS),
      '-H',
      'content-type: application/grpc',
      '-H',
      'te: trailers',
      '-d',
      bodyFile,
      '--log-file',
      log,
      url,
    ],
    { encoding: 'utf8', timeout: 300_000, maxBuffer: 16 << 20 },
  );
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const share = stopWatch();
  const serverCpuUs = ((cpuTimeMs(serverPid) - cpuBefore) * 1000) / requests;
  // execFileSync has waited for h2load, so its CPU time is now in this process's children's total.
  const clientMs = reapedChildrenCpuMs() - clientBefore;
  const otherPct = Math.max(0, share.otherPct - (100 * clientMs) / (elapsedMs * cpus().length));
  const perSecond = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
  const succeeded = Number(/(\d+) succeeded/.exec(out)?.[1] ?? NaN);
  // Log lines: <start µs> <status> <duration µs>
  const durations = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => Number(l.split(/\s+/)[2]) / 1000)
    .filter((n) => Number.isFinite(n))
    .sort((a, b) => a - b);
  return {
    perSecond,
    p99Ms: percentile(durations, 99),
    succeeded,
    requests,
    serverCpuUs,
    clientCpuUs: (clientMs * 1000) / requests,
    otherPct,
  };
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const def of SETTING_DEFINITIONS) delete env[def.env];
  delete env['NODE_OPTIONS'];
  return env;
}

async function waitForLine(proc: ManagedProcess, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!proc.output().includes(text)) {
    if (proc.exitInfo() || Date.now() > deadline)
      throw new Error(`${proc.name} did not start:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface CheckInput {
  body: Buffer;
  series: number;
  decompressedBytes: number;
  message: { attributes: { request: { http: { headers: Record<string, string> } } } };
}

/** A CheckRequest whose snappy remote-write body reaches `bytes`, counted on the wire or once decompressed. */
function checkInput(bytes: number, counted: 'compressed' | 'decompressed'): CheckInput {
  const size = (b: Buffer): number => (counted === 'compressed' ? b.length : snappyUncompressedLength(b));
  let series = 200;
  let body = snappyBody(manySeries(series));
  while (size(body) < bytes) {
    series = Math.ceil((series * bytes) / size(body)) + 5;
    body = snappyBody(manySeries(series));
  }
  const headers = {
    'x-scope-orgid': 'bench',
    'content-type': 'application/x-protobuf',
    'content-encoding': 'snappy',
    'content-length': String(body.length),
  };
  return {
    body,
    series,
    decompressedBytes: snappyUncompressedLength(body),
    message: {
      attributes: { request: { http: { method: 'POST', path: '/api/v1/push', headers, raw_body: body } } },
    },
  } as CheckInput;
}

/**
 * The measure step alone (bounded snappy decompression + scan, src/remote-write), in this process on one core:
 * the floor under any Check's cost. CPU time per call (this process's user + system), not wall time, so that
 * time spent descheduled on a shared machine does not count. Median of 5 rounds of ~300 ms, yielding every few
 * calls so snappy's output buffers are freed as they are on the server.
 */
async function measureStepMs(body: Buffer): Promise<number> {
  const decoder = selectDecoder('/api/v1/push', 'application/x-protobuf', 'snappy');
  if (isUnsupportedMediaType(decoder))
    throw new Error(`no decoder for the bench body: ${decoder.unsupported}`);
  const rounds: number[] = [];
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let n = 0;
    while (performance.now() - t0 < 300) {
      measureBody(decoder, body, 50 << 20);
      n++;
      if (n % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const cpu = process.cpuUsage(cpu0);
    if (r > 0) rounds.push((cpu.user + cpu.system) / 1000 / n);
  }
  return median(rounds);
}

async function main(): Promise<void> {
  const bin = requireDebianBinary('h2load', 'nghttp2-client');
  console.log('> building dist/ (tsc -p tsconfig.build.json)');
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  } catch {
    // tsc still emits on type errors elsewhere in the tree; the edge runs if our files compiled.
    console.warn('> tsc reported errors (above); running the emitted dist/ anyway');
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-grpc-'));

  // Inputs, encoded by @grpc/proto-loader from Envoy's own protos (independent of our codecs).
  const definition = protoLoader.loadSync(
    ['envoy/service/ratelimit/v3/rls.proto', 'envoy/service/auth/v3/external_auth.proto'],
    { keepCase: true, includeDirs: ENVOY_PROTO_DIRS },
  );
  const serializer = (service: string, method: string) =>
    (definition[service] as Record<string, { requestSerialize: (v: object) => Buffer }>)[method]!
      .requestSerialize;
  const encodeRateLimitRequest = serializer('envoy.service.ratelimit.v3.RateLimitService', 'ShouldRateLimit');
  const encodeCheckRequest = serializer('envoy.service.auth.v3.Authorization', 'Check');
  const rlsMessage = {
    domain: 'bench',
    descriptors: [{ entries: [{ key: 'X-Scope-OrgID', value: 'bench' }] }],
  };
  const rlsFile = join(dir, 'rls.bin');
  writeFileSync(rlsFile, frame(encodeRateLimitRequest(rlsMessage)));

  // "100 KB remote-write body": 100 KB as sent over the wire (snappy), the natural reading and the headline;
  // then 100 KB once decompressed, the other reading, for comparison.
  const wire = checkInput(100 * 1024, 'compressed');
  const plain = checkInput(100 * 1024, 'decompressed');
  const checkFile = join(dir, 'check.bin');
  writeFileSync(checkFile, frame(encodeCheckRequest(wire.message)));
  const smallCheckFile = join(dir, 'check-small.bin');
  writeFileSync(smallCheckFile, frame(encodeCheckRequest(plain.message)));
  const measureMs = await measureStepMs(wire.body);
  const smallMeasureMs = await measureStepMs(plain.body);
  const body = wire.body;
  const series = wire.series;

  const overrides = join(dir, 'overrides.yaml');
  writeFileSync(
    overrides,
    'overrides:\n  bench:\n    ingestion_rate: 1000000000000\n    ingestion_burst_size: 1000000000000\n',
  );
  const rlsConfig = join(dir, 'ratelimit.yaml');
  writeFileSync(
    rlsConfig,
    'domain: bench\ndescriptors:\n  - key: X-Scope-OrgID\n    rate_limit: {unit: second, requests_per_unit: 4000000000}\n',
  );

  const [proxy, admin, metrics, extAuthz, ratelimit, bare] = await freePorts(6);
  const edge = startProcess({
    name: 'edge',
    command: process.execPath,
    // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the edge, written when it stops (open in Chrome DevTools).
    args: [...cpuProfArgs(), join(ROOT, 'dist', 'src', 'cli.js')],
    cwd: ROOT,
    env: {
      ...cleanEnv(),
      UPSTREAM_URL: 'http://127.0.0.1:9',
      BIND_ADDRESS: '127.0.0.1',
      LOG_LEVEL: 'warn',
      OVERRIDES_FILE: overrides,
      RATELIMIT_CONFIG: rlsConfig,
      ADMIN_TOKEN: 'bench-admin-token',
      PROXY_PORT: String(proxy),
      ADMIN_PORT: String(admin),
      METRICS_PORT: String(metrics),
      EXT_AUTHZ_PORT: String(extAuthz),
      RATELIMIT_PORT: String(ratelimit),
    },
  });
  const bareProc = startProcess({
    name: 'bare grpc-js',
    command: process.execPath,
    args: ['-e', BARE_SOURCE],
    env: { ...cleanEnv(), BENCH_PORT: String(bare) },
  });
  try {
    await waitForHttp(`http://127.0.0.1:${admin}/api/health`, 20_000, { process: edge });
    await waitForLine(bareProc, 'listening', 10_000);

    // The inputs must get real answers: one call each through an independent client.
    const client = new EnvoyClient(`127.0.0.1:${extAuthz}`, `127.0.0.1:${ratelimit}`);
    const rlsAnswer = await client.shouldRateLimit(rlsMessage);
    if (rlsAnswer.statuses[0]?.current_limit?.requests_per_unit !== 4_000_000_000)
      throw new Error(`ShouldRateLimit did not match the bench rule: ${JSON.stringify(rlsAnswer)}`);
    for (const input of [wire, plain]) {
      const answer = await client.check({
        headers: input.message.attributes.request.http.headers,
        body: input.body,
      });
      if (answer.http_response !== 'ok_response')
        throw new Error(`Check did not allow the bench body: ${JSON.stringify(answer.denied_response)}`);
    }
    client.close();

    const metricsUrl = `http://127.0.0.1:${metrics}/metrics`;
    // A fresh connection per scrape: a load run outlasts the metrics server's keep-alive.
    const scrape = async () => (await request(metricsUrl, { reset: true })).body.text();
    const okDecisions = async () =>
      counterSum(await scrape(), 'rls_ratelimit_descriptor_decisions_total', ['result="ok"']);
    const allowedChecks = async () =>
      counterSum(await scrape(), 'rls_decisions_total', ['decision="allow"', 'tenant="bench"']);

    const ours = `http://127.0.0.1:${ratelimit}${RLS_PATH}`;
    const theirs = `http://127.0.0.1:${bare}${RLS_PATH}`;
    const check = `http://127.0.0.1:${extAuthz}${CHECK_PATH}`;
    const edgePid = edge.pid;
    const barePid = bareProc.pid;
    // Warm-up: JIT and connection setup for all three.
    h2load(bin, ours, rlsFile, 20_000, dir, edgePid);
    h2load(bin, theirs, rlsFile, 20_000, dir, barePid);
    h2load(bin, check, checkFile, 2_000, dir, edgePid);
    h2load(bin, check, smallCheckFile, 2_000, dir, edgePid);

    const quiet = await waitForQuiet(WAIT_QUIET_SECONDS * 1000, 20, 3000, (m) => console.log(`> ${m}`));
    console.log(`> other processes used ${round(quiet, 0)}% of the CPUs just before timing`);

    const rls: H2Result[] = [];
    const echo: H2Result[] = [];
    const checks: H2Result[] = [];
    const smallChecks: H2Result[] = [];
    const decisionsBefore = await okDecisions();
    const checksBefore = await allowedChecks();
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order so neither side always runs on a warmer machine.
      if (r % 2 === 0) {
        rls.push(h2load(bin, ours, rlsFile, RLS_REQUESTS, dir, edgePid));
        echo.push(h2load(bin, theirs, rlsFile, RLS_REQUESTS, dir, barePid));
      } else {
        echo.push(h2load(bin, theirs, rlsFile, RLS_REQUESTS, dir, barePid));
        rls.push(h2load(bin, ours, rlsFile, RLS_REQUESTS, dir, edgePid));
      }
      checks.push(h2load(bin, check, checkFile, CHECK_REQUESTS, dir, edgePid));
      smallChecks.push(h2load(bin, check, smallCheckFile, CHECK_REQUESTS, dir, edgePid));
    }
    const decided = (await okDecisions()) - decisionsBefore;
    const checked = (await allowedChecks()) - checksBefore;
    if (decided !== ROUNDS * RLS_REQUESTS || checked !== 2 * ROUNDS * CHECK_REQUESTS) {
      throw new Error(
        `the edge did not decide every request: ${decided}/${ROUNDS * RLS_REQUESTS} ShouldRateLimit, ${checked}/${2 * ROUNDS * CHECK_REQUESTS} Check`,
      );
    }

    const med = (xs: H2Result[], f: (x: H2Result) => number, digits = 0): number =>
      round(median(xs.map(f)), digits);
    const perSecond = (x: H2Result): number => x.perSecond;
    const p99 = (x: H2Result): number => x.p99Ms;
    const cpu = (x: H2Result): number => x.serverCpuUs;
    const result = {
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
      load_average_at_end: loadAverage(),
      other_processes_cpu_pct: med([...rls, ...echo, ...checks, ...smallChecks], (x) => x.otherPct),
      connections: CONNECTIONS,
      streams_per_connection: STREAMS,
      rounds: ROUNDS,
      shouldratelimit_per_s: med(rls, perSecond),
      shouldratelimit_p99_ms: med(rls, p99, 2),
      shouldratelimit_cpu_us_per_call: med(rls, cpu, 1),
      bare_grpcjs_per_s: med(echo, perSecond),
      bare_grpcjs_p99_ms: med(echo, p99, 2),
      bare_grpcjs_cpu_us_per_call: med(echo, cpu, 1),
      // Per round (the two ran back to back), then the median: a round's pair shares the machine's state.
      shouldratelimit_vs_bare_grpcjs: round(median(rls.map((x, i) => x.perSecond / echo[i]!.perSecond)), 2),
      shouldratelimit_vs_bare_grpcjs_rounds: rls.map((x, i) => round(x.perSecond / echo[i]!.perSecond, 2)),
      shouldratelimit_cpu_vs_bare_grpcjs: round(
        median(rls.map((x, i) => echo[i]!.serverCpuUs / x.serverCpuUs)),
        2,
      ),
      h2load_cpu_us_per_rls_call: med([...rls, ...echo], (x) => x.clientCpuUs, 1),
      check_body_bytes: body.length,
      check_body_decompressed_bytes: wire.decompressedBytes,
      check_body_series: series,
      check_measure_step_ms: round(measureMs, 3),
      check_100kb_per_s: med(checks, perSecond),
      check_100kb_per_s_rounds: checks.map((x) => round(x.perSecond, 0)),
      check_100kb_p99_ms: med(checks, p99, 2),
      check_100kb_cpu_us_per_call: med(checks, cpu, 0),
      h2load_cpu_us_per_check: med(checks, (x) => x.clientCpuUs, 1),
      check_100kb_uncompressed_body_bytes: plain.body.length,
      check_100kb_uncompressed_decompressed_bytes: plain.decompressedBytes,
      check_100kb_uncompressed_measure_step_ms: round(smallMeasureMs, 3),
      check_100kb_uncompressed_per_s: med(smallChecks, perSecond),
      check_100kb_uncompressed_p99_ms: med(smallChecks, p99, 2),
      check_100kb_uncompressed_cpu_us_per_call: med(smallChecks, cpu, 0),
      targets: { shouldratelimit_vs_bare_grpcjs: 1.2, check_100kb_per_s: 5000 },
    };
    console.log('\n| run | calls/s (median) | p99 ms | server CPU µs/call |');
    console.log('|---|---|---|---|');
    console.log(
      `| edge ShouldRateLimit (real decision) | ${result.shouldratelimit_per_s} | ${result.shouldratelimit_p99_ms} | ${result.shouldratelimit_cpu_us_per_call} |`,
    );
    console.log(
      `| bare @grpc/grpc-js constant reply | ${result.bare_grpcjs_per_s} | ${result.bare_grpcjs_p99_ms} | ${result.bare_grpcjs_cpu_us_per_call} |`,
    );
    console.log(
      `| edge Check, ${body.length} B snappy body (${wire.decompressedBytes} B decompressed, ${series} series) | ${result.check_100kb_per_s} | ${result.check_100kb_p99_ms} | ${result.check_100kb_cpu_us_per_call} |`,
    );
    console.log(
      `| edge Check, ${plain.body.length} B snappy body (${plain.decompressedBytes} B decompressed, ${plain.series} series) | ${result.check_100kb_uncompressed_per_s} | ${result.check_100kb_uncompressed_p99_ms} | ${result.check_100kb_uncompressed_cpu_us_per_call} |`,
    );
    console.log(
      `\nMeasure step alone (decompress + scan, CPU time on one core, in-process): ${round(measureMs, 3)} ms for the 100 KB snappy body (at most ${Math.round(1000 / measureMs)}/s per core), ${round(smallMeasureMs, 3)} ms for the 100 KB-decompressed one.`,
    );
    console.log(
      `ShouldRateLimit vs bare grpc-js: ${result.shouldratelimit_vs_bare_grpcjs}x calls/s, ${result.shouldratelimit_cpu_vs_bare_grpcjs}x less CPU per call (target >= 1.2x); Check 100 KB: ${result.check_100kb_per_s}/s (target >= 5000/s). Other processes used ${result.other_processes_cpu_pct}% of the CPUs (median per run).`,
    );
    console.log(JSON.stringify(result));
  } finally {
    await stopAllProcesses();
  }
}

main().catch(async (err: unknown) => {
  console.error(
    err instanceof Error
      ? `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}\n${err.stack ?? ''}`
      : err,
  );
  await stopAllProcesses();
  process.exit(1);
});
