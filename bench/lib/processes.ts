// Child processes for the proxy benchmark: a minimal upstream (node:http, answers 200 once the body is read)
// and the edge itself (`node dist/src/cli.js`), each on free 127.0.0.1 ports. Started and stopped by PID through
// test/helpers/child-process.ts, never by name.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTING_DEFINITIONS } from '../../src/settings/settings.js';
import { startProcess, waitForHttp } from '../../test/helpers/child-process.js';
import type { ManagedProcess } from '../../test/helpers/child-process.js';
import { freePorts } from '../../test/helpers/ports.js';

/** The whole upstream, run with `node -e`: reads the body, answers 200 with an empty body. */
const UPSTREAM_SOURCE = `
const http = require('node:http');
const server = http.createServer({ keepAliveTimeout: 65000 }, (req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, { 'content-length': '0' }); res.end(); });
});
server.listen(Number(process.env.BENCH_UPSTREAM_PORT), '127.0.0.1');
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;

export interface Child {
  proc: ManagedProcess;
  url: string;
}

export interface EdgeChild extends Child {
  adminUrl: string;
  metricsUrl: string;
}

/** This process's environment without any of the edge's settings (so only ours apply) and without NODE_OPTIONS. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const def of SETTING_DEFINITIONS) delete env[def.env];
  delete env['NODE_OPTIONS'];
  return env;
}

export async function startUpstream(): Promise<Child> {
  const [port] = await freePorts(1);
  const proc = startProcess({
    name: 'bench upstream',
    command: process.execPath,
    args: ['-e', UPSTREAM_SOURCE],
    env: { ...cleanEnv(), BENCH_UPSTREAM_PORT: String(port) },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`, 10_000, { process: proc });
  return { proc, url };
}

/**
 * Starts `node [nodeArgs] dist/src/cli.js` on free ports and waits for its admin health check. The child's
 * output is kept (up to 200,000 lines) so `--trace-gc` lines can be read back with gcEvents().
 */
export async function startEdge(
  root: string,
  name: string,
  upstreamUrl: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<EdgeChild> {
  const [proxy, admin, metrics, extAuthz, ratelimit] = await freePorts(5);
  const proc = startProcess({
    name,
    command: process.execPath,
    args: [...nodeArgs, join(root, 'dist', 'src', 'cli.js')],
    keepLines: 200_000,
    cwd: root,
    env: {
      ...cleanEnv(),
      UPSTREAM_URL: upstreamUrl,
      BIND_ADDRESS: '127.0.0.1',
      LOG_LEVEL: 'warn',
      PROXY_PORT: String(proxy),
      ADMIN_PORT: String(admin),
      METRICS_PORT: String(metrics),
      EXT_AUTHZ_PORT: String(extAuthz),
      RATELIMIT_PORT: String(ratelimit),
      ...env,
    },
  });
  const adminUrl = `http://127.0.0.1:${admin}`;
  await waitForHttp(`${adminUrl}/api/health`, 20_000, { process: proc });
  return {
    proc,
    url: `http://127.0.0.1:${proxy}`,
    adminUrl,
    metricsUrl: `http://127.0.0.1:${metrics}/metrics`,
  };
}

/** Resident set size of a process in MB, from /proc (Linux); NaN where unavailable. */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? NaN : Number(kb) / 1024;
  } catch {
    return NaN;
  }
}

/** Sum and count of one Prometheus histogram series from a text exposition (NaN when absent). */
export function histogramSumCount(
  text: string,
  name: string,
  labels: string,
): { sum: number; count: number } {
  const value = (suffix: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}_${suffix}{${labels}}`));
    return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { sum: value('sum'), count: value('count') };
}

/** Sum of every sample of counter `name` whose labels contain all of `labelParts` (e.g. 'tenant="a"'); 0 when none. */
export function counterSum(text: string, name: string, labelParts: readonly string[] = []): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const close = line.lastIndexOf('}');
    const labels = close === -1 ? '' : line.slice(name.length, close + 1);
    if (labelParts.every((p) => labels.includes(p))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export interface GcEvent {
  kind: 'scavenge' | 'mark-compact' | 'other';
  /** Main-thread pause in ms as --trace-gc prints it ("MB, <pause> / <background> ms"). */
  pauseMs: number;
  /** Incremental-marking steps done on the main thread before the pause ("+ <ms> ms in <n> steps"). */
  stepsMs: number;
  /**
   * The V8 isolate the line names ("[pid:0x…]"): each worker thread has its own heap and GC, and its pauses
   * stop only that thread ('' when the line has none).
   */
  isolate: string;
  /** Milliseconds since the isolate started ("<ms> ms: ..."): the event loop's isolate is the oldest. */
  sinceStartMs: number;
}

/**
 * The event loop's isolate among `events`: the oldest (its clock is the furthest along), since every worker thread
 * starts after it. '' when there are none.
 */
export function mainIsolate(events: readonly GcEvent[]): string {
  const latest = new Map<string, number>();
  for (const e of events) latest.set(e.isolate, Math.max(latest.get(e.isolate) ?? 0, e.sinceStartMs));
  let best = '';
  let bestMs = -1;
  for (const [isolate, ms] of latest) {
    if (ms > bestMs) {
      best = isolate;
      bestMs = ms;
    }
  }
  return best;
}

/** The GC events of a child started with `--trace-gc`, in order, parsed from its kept output. */
export function gcEvents(output: string): GcEvent[] {
  const events: GcEvent[] = [];
  for (const line of output.split('\n')) {
    const m = /(\d+) ms: (Scavenge|Mark-Compact|[A-Za-z-]+).*? MB, ([\d.]+) \//.exec(line);
    if (!m) continue;
    const kind = m[2] === 'Scavenge' ? 'scavenge' : m[2] === 'Mark-Compact' ? 'mark-compact' : 'other';
    const steps = /\(\+ ([\d.]+) ms in \d+ steps/.exec(line);
    const isolate = /\[\d+:(0x[0-9a-f]+)\]/.exec(line)?.[1] ?? '';
    events.push({
      kind,
      pauseMs: Number(m[3]),
      stepsMs: steps ? Number(steps[1]) : 0,
      isolate,
      sinceStartMs: Number(m[1]),
    });
  }
  return events;
}
