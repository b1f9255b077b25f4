// `npm run bench:edge-ab -- <root A> <root B> [runs]`: two builds of the edge (each root holds dist/src/cli.js,
// e.g. a copy of the tree at an earlier commit built with `tsc -p tsconfig.build.json`) under the spine's
// enforced load, alternating A, B, A, B… so both see the same machine. Per run: 2,000 requests at 200 req/s of
// the spine body (2,000 series × 12 labels, snappy), latency p50/p99, the edge's CPU ms per request, and its GC
// from --trace-gc (scavenges, mark-compacts and why each full GC finished). Extra Node flags per side:
// EDGE_AB_FLAGS_A / EDGE_AB_FLAGS_B (e.g. --max-semi-space-size=4); extra settings per side: EDGE_AB_ENV_A /
// EDGE_AB_ENV_B (e.g. ACTIVE_SERIES_ENABLED=false, space-separated NAME=value). Prints one JSON line per run, then
// a summary.

import { stopAllProcesses } from '../test/helpers/child-process.js';
import { manySeries, snappyBody } from '../test/helpers/write-request.js';
import { closedLoop, newPool, openLoop } from './lib/load.js';
import { cpuTimeMs } from './lib/machine.js';
import { gcEvents, mainIsolate, startEdge, startUpstream } from './lib/processes.js';

const [rootA, rootB, runsArg] = process.argv.slice(2);
if (!rootA || !rootB) {
  process.stderr.write('usage: npx tsx bench/edge-ab.ts <root A> <root B> [runs per side, default 3]\n');
  process.exit(2);
}
const RUNS = Number(runsArg ?? 3);
const body = snappyBody(manySeries(2000, 12));
const headers = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-scope-orgid': 'bench',
  ...(process.env.EDGE_AB_RW_VERSION ? { 'x-prometheus-remote-write-version': '0.1.0' } : {}),
};
const flags = (side: 'A' | 'B'): string[] =>
  (process.env[`EDGE_AB_FLAGS_${side}`] ?? '').split(' ').filter((f) => f !== '');
const env = (side: 'A' | 'B'): Record<string, string> =>
  Object.fromEntries(
    (process.env[`EDGE_AB_ENV_${side}`] ?? '')
      .split(' ')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

interface Run {
  side: 'A' | 'B';
  p50: number;
  p99: number;
  cpuMsPerReq: number;
  scavenges: number;
  markCompacts: number;
  byIsolate: { scavenges: number; markCompacts: number; pauseMs: number }[];
  gcMainThreadMsPerReq: number;
  fullGcReasons: Record<string, number>;
}

async function once(side: 'A' | 'B', root: string, upstreamUrl: string): Promise<Run> {
  const edge = await startEdge(
    root,
    `edge ${side}`,
    upstreamUrl,
    { DEFAULT_SAMPLES_PER_SECOND: '1000000000000', DEFAULT_BURST_SAMPLES: '1000000000000', ...env(side) },
    ['--trace-gc', ...flags(side)],
  );
  try {
    // EDGE_AB_IDLE_MS: let the edge sit idle first, as the spine's enforced edge does while the other targets run.
    const idleMs = Number(process.env.EDGE_AB_IDLE_MS ?? 0);
    if (idleMs > 0) await new Promise((r) => setTimeout(r, idleMs));
    const pool = newPool(edge.url, 64);
    const spec = { origin: edge.url, path: '/api/v1/push', headers, body };
    // The spine's warm-up: 4 concurrent senders for 2 s.
    await closedLoop(pool, spec, 4, 2000);
    const skip = edge.proc.output().split('\n').length;
    const cpu0 = cpuTimeMs(edge.proc.pid!);
    const r = await openLoop(pool, spec, 200, 10_000);
    const cpu = (cpuTimeMs(edge.proc.pid!) - cpu0) / r.ok;
    await pool.close();
    const lines = edge.proc.output().split('\n').slice(skip);
    const events = gcEvents(lines.join('\n'));
    const reasons: Record<string, number> = {};
    for (const l of lines.filter((x) => x.includes('Mark-Compact'))) {
      const why = /current mu = [\d.]+\) (.*)$/.exec(l)?.[1]?.trim() ?? 'unknown';
      reasons[why] = (reasons[why] ?? 0) + 1;
    }
    const round = (v: number): number => Math.round(v * 1000) / 1000;
    return {
      side,
      p50: round(r.latency.p50),
      p99: round(r.latency.p99),
      cpuMsPerReq: round(cpu),
      scavenges: events.filter((e) => e.kind === 'scavenge').length,
      markCompacts: events.filter((e) => e.kind === 'mark-compact').length,
      gcMainThreadMsPerReq: round(events.reduce((a, e) => a + e.pauseMs + e.stepsMs, 0) / r.ok),
      fullGcReasons: reasons,
      // Per V8 isolate, the event loop's (the oldest) first, then any worker thread's: a worker's GC pauses only
      // the worker.
      byIsolate: byIsolate(events),
    };
  } finally {
    await edge.proc.stop(5000);
  }
}

function byIsolate(
  events: ReturnType<typeof gcEvents>,
): { scavenges: number; markCompacts: number; pauseMs: number }[] {
  const by = new Map<string, { scavenges: number; markCompacts: number; pauseMs: number }>();
  for (const e of events) {
    const x = by.get(e.isolate) ?? { scavenges: 0, markCompacts: 0, pauseMs: 0 };
    if (e.kind === 'scavenge') x.scavenges++;
    if (e.kind === 'mark-compact') x.markCompacts++;
    x.pauseMs = Math.round((x.pauseMs + e.pauseMs + e.stepsMs) * 10) / 10;
    by.set(e.isolate, x);
  }
  const main = mainIsolate(events);
  return [...by.entries()].sort(([a], [b]) => (a === main ? -1 : b === main ? 1 : 0)).map(([, x]) => x);
}

const upstream = await startUpstream();
const runs: Run[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    for (const [side, root] of [
      ['A', rootA],
      ['B', rootB],
    ] as const) {
      const run = await once(side, root, upstream.url);
      runs.push(run);
      process.stdout.write(`${JSON.stringify(run)}\n`);
    }
  }
} finally {
  await stopAllProcesses();
}
const mean = (side: 'A' | 'B', pick: (r: Run) => number): number => {
  const xs = runs.filter((r) => r.side === side).map(pick);
  return Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 1000) / 1000;
};
const summary = Object.fromEntries(
  (['A', 'B'] as const).map((s) => [
    s,
    {
      cpu_ms_per_req_mean: mean(s, (r) => r.cpuMsPerReq),
      p99_ms_mean: mean(s, (r) => r.p99),
      mark_compacts_mean: mean(s, (r) => r.markCompacts),
      gc_main_thread_ms_per_req_mean: mean(s, (r) => r.gcMainThreadMsPerReq),
    },
  ]),
);
process.stdout.write(`${JSON.stringify({ bench: 'edge-ab', runs_per_side: RUNS, summary })}\n`);
process.exit(0);
