// `npm run bench:grpc`: the Envoy-facing gRPC ports under h2load (Debian's nghttp2-client), in one run
// beside a bare @grpc/grpc-js server answering the same RPC with a constant (the framework's own ceiling).
//
// 1. ShouldRateLimit with a real decision (descriptor match, fixed-window count, encoded statuses) on the
//    edge's ratelimit port, vs the bare grpc-js echo. Target: >= 1.2x the echo's decisions/s.
// 2. ext_authz Check carrying a ~100 KB snappy remote-write body (decompress, scan, decide). Target >= 5,000/s.
//
// Servers run as child processes on 127.0.0.1 (stopped by PID); each load run is bounded by a request
// count. Prints a table, then one JSON line. Knobs (env): BENCH_ROUNDS, BENCH_RLS_REQUESTS,
// BENCH_CHECK_REQUESTS, BENCH_CONNECTIONS, BENCH_STREAMS.

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
import { SETTING_DEFINITIONS } from '../src/config/settings.js';
import { counterSum } from './lib/processes.js';
import { median, percentile, round } from './lib/stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RLS_PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';
const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

function knob(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number, got ${raw}`);
  return n;
}
const ROUNDS = knob('BENCH_ROUNDS', 3);
const RLS_REQUESTS = knob('BENCH_RLS_REQUESTS', 100_000);
const CHECK_REQUESTS = knob('BENCH_CHECK_REQUESTS', 15_000);
const CONNECTIONS = knob('BENCH_CONNECTIONS', 4);
const STREAMS = knob('BENCH_STREAMS', 16);

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
}

/** One bounded h2load run; p99 from its per-request log (h2load itself prints only mean and sd). */
function h2load(bin: string, url: string, bodyFile: string, requests: number, dir: string): H2Result {
  if (!url.startsWith('http://127.0.0.1:'))
    throw new Error(`benchmarks only load 127.0.0.1, refusing ${url}`);
  const log = join(dir, `h2load-${Date.now()}.log`);
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
  const perSecond = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
  const succeeded = Number(/(\d+) succeeded/.exec(out)?.[1] ?? NaN);
  // Log lines: <start µs> <status> <duration µs>
  const durations = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => Number(l.split(/\s+/)[2]) / 1000)
    .filter((n) => Number.isFinite(n))
    .sort((a, b) => a - b);
  return { perSecond, p99Ms: percentile(durations, 99), succeeded, requests };
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

  let series = 1000;
  let body = snappyBody(manySeries(series));
  while (body.length < 100 * 1024) {
    series = Math.ceil((series * 100 * 1024) / body.length) + 10;
    body = snappyBody(manySeries(series));
  }
  const checkMessage = {
    attributes: {
      request: {
        http: {
          method: 'POST',
          path: '/api/v1/push',
          headers: {
            'x-scope-orgid': 'bench',
            'content-type': 'application/x-protobuf',
            'content-encoding': 'snappy',
            'content-length': String(body.length),
          },
          raw_body: body,
        },
      },
    },
  };
  const checkFile = join(dir, 'check.bin');
  writeFileSync(checkFile, frame(encodeCheckRequest(checkMessage)));

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
    args: [join(ROOT, 'dist', 'src', 'cli.js')],
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
    const checkAnswer = await client.check({ headers: checkMessage.attributes.request.http.headers, body });
    if (checkAnswer.http_response !== 'ok_response')
      throw new Error(`Check did not allow the bench body: ${JSON.stringify(checkAnswer.denied_response)}`);
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
    // Warm-up: JIT and connection setup for all three.
    h2load(bin, ours, rlsFile, 20_000, dir);
    h2load(bin, theirs, rlsFile, 20_000, dir);
    h2load(bin, check, checkFile, 2_000, dir);

    const rls: H2Result[] = [];
    const echo: H2Result[] = [];
    const checks: H2Result[] = [];
    const decisionsBefore = await okDecisions();
    const checksBefore = await allowedChecks();
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order so neither side always runs on a warmer machine.
      if (r % 2 === 0) {
        rls.push(h2load(bin, ours, rlsFile, RLS_REQUESTS, dir));
        echo.push(h2load(bin, theirs, rlsFile, RLS_REQUESTS, dir));
      } else {
        echo.push(h2load(bin, theirs, rlsFile, RLS_REQUESTS, dir));
        rls.push(h2load(bin, ours, rlsFile, RLS_REQUESTS, dir));
      }
      checks.push(h2load(bin, check, checkFile, CHECK_REQUESTS, dir));
    }
    const decided = (await okDecisions()) - decisionsBefore;
    const checked = (await allowedChecks()) - checksBefore;
    if (decided !== ROUNDS * RLS_REQUESTS || checked !== ROUNDS * CHECK_REQUESTS) {
      throw new Error(
        `the edge did not decide every request: ${decided}/${ROUNDS * RLS_REQUESTS} ShouldRateLimit, ${checked}/${ROUNDS * CHECK_REQUESTS} Check`,
      );
    }

    const med = (xs: H2Result[], f: (x: H2Result) => number) => median(xs.map(f));
    const result = {
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
      connections: CONNECTIONS,
      streams_per_connection: STREAMS,
      rounds: ROUNDS,
      shouldratelimit_per_s: round(
        med(rls, (x) => x.perSecond),
        0,
      ),
      shouldratelimit_p99_ms: round(
        med(rls, (x) => x.p99Ms),
        2,
      ),
      bare_grpcjs_per_s: round(
        med(echo, (x) => x.perSecond),
        0,
      ),
      bare_grpcjs_p99_ms: round(
        med(echo, (x) => x.p99Ms),
        2,
      ),
      shouldratelimit_vs_bare_grpcjs: round(med(rls, (x) => x.perSecond) / med(echo, (x) => x.perSecond), 2),
      check_body_bytes: body.length,
      check_body_series: series,
      check_100kb_per_s: round(
        med(checks, (x) => x.perSecond),
        0,
      ),
      check_100kb_p99_ms: round(
        med(checks, (x) => x.p99Ms),
        2,
      ),
      targets: { shouldratelimit_vs_bare_grpcjs: 1.2, check_100kb_per_s: 5000 },
    };
    console.log('\n| run | decisions/s (median) | p99 ms |');
    console.log('|---|---|---|');
    console.log(
      `| edge ShouldRateLimit (real decision) | ${result.shouldratelimit_per_s} | ${result.shouldratelimit_p99_ms} |`,
    );
    console.log(
      `| bare @grpc/grpc-js constant reply | ${result.bare_grpcjs_per_s} | ${result.bare_grpcjs_p99_ms} |`,
    );
    console.log(
      `| edge Check, ${body.length} B body (${series} series) | ${result.check_100kb_per_s} | ${result.check_100kb_p99_ms} |`,
    );
    console.log(
      `\nShouldRateLimit vs bare grpc-js: ${result.shouldratelimit_vs_bare_grpcjs}x (target >= 1.2x); Check 100 KB: ${result.check_100kb_per_s}/s (target >= 5000/s)`,
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
