// `npm run bench:metrics`: what one /metrics scrape costs the proxy's event loop with 1,000 and 10,000 tenants.
// Ours: EdgeMetrics (per-tenant families in TenantSeries, rendered as text in slices). Peer: the same series in
// plain prom-client counters and gauges (test/helpers/tenant-metrics-peer.ts, how EdgeMetrics kept them before),
// rendered by prom-client's Registry. Both hold the same series; the script checks that their series lines
// are identical before timing anything. Prints a table, then one JSON line.
// Knobs (env): BENCH_SCRAPES (15 per case), BENCH_TENANTS (comma list, default 1000,10000).

import { setImmediate as tick } from 'node:timers/promises';
import type { DecisionReason } from '../src/decision/decision.js';
import { EdgeMetrics } from '../src/observe/metrics.js';
import { PromClientTenantMetrics, seriesLines } from '../test/helpers/tenant-metrics-peer.js';

const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 15);
const TENANT_COUNTS = (process.env.BENCH_TENANTS ?? '1000,10000').split(',').map(Number);

interface Target {
  recordAllowed(tenant: string, samples: number): void;
  recordDenied(tenant: string, reason: DecisionReason, samples: number): void;
  wouldDeny: { labels(tenant: string, reason: string): { inc(): void } };
  unchecked: { labels(tenant: string): { inc(): void } };
  bucketLevels:
    | ((report: (tenant: string, bucketType: 'samples' | 'requests', tokens: number) => void) => void)
    | undefined;
  registry: { metrics(): Promise<string> };
}

/**
 * The soak's mix per tenant: allows with samples; one tenant in ten also denied for ingestion_rate; one in
 * twenty with a would-deny, one in fifty with an unchecked write; a samples bucket for every tenant and a
 * request bucket for one in four. About 4 series per tenant.
 */
function fill(target: Target, tenants: number): void {
  const names = Array.from({ length: tenants }, (_, i) => `soak-${String(i).padStart(5, '0')}`);
  for (let i = 0; i < tenants; i++) {
    const t = names[i]!;
    for (let k = 0; k < 3; k++) target.recordAllowed(t, 100 + i);
    if (i % 10 === 0) target.recordDenied(t, 'ingestion_rate', 400);
    if (i % 20 === 0) target.wouldDeny.labels(t, 'max_series_per_request').inc();
    if (i % 50 === 0) target.unchecked.labels(t).inc();
  }
  target.bucketLevels = (report) => {
    for (let i = 0; i < tenants; i++) {
      report(names[i]!, 'samples', 1000 + (i % 97) * 0.5);
      if (i % 4 === 0) report(names[i]!, 'requests', 10 + (i % 7));
    }
  };
}

/**
 * One scrape, timed: wall time until the text is ready, and the longest stretch the event loop was held
 * meanwhile. A setImmediate chain runs between every two macrotasks, so the widest gap between its
 * turns is the longest block.
 */
async function scrapeOnce(target: Target): Promise<{ ms: number; maxBlockMs: number; bytes: number }> {
  let running = true;
  let last = performance.now();
  let maxGap = 0;
  const probe = (): void => {
    const now = performance.now();
    if (now - last > maxGap) maxGap = now - last;
    last = now;
    if (running) setImmediate(probe);
  };
  setImmediate(probe);
  await tick();
  const t0 = performance.now();
  const text = await target.registry.metrics();
  const ms = performance.now() - t0;
  running = false;
  // Closes the gap the last slice left open.
  await tick();
  return { ms, maxBlockMs: maxGap, bytes: text.length };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const results: Record<string, number>[] = [];
  for (const tenants of TENANT_COUNTS) {
    const ours = new EdgeMetrics(false);
    const peer = new PromClientTenantMetrics();
    fill(ours, tenants);
    fill(peer, tenants);
    const [a, b] = await Promise.all([ours.registry.metrics(), peer.registry.metrics()]);
    const la = seriesLines(a);
    const lb = seriesLines(b).filter((l) => l.startsWith('rls_'));
    const laTenant = la.filter((l) =>
      /^rls_(decisions|samples|would_deny|unchecked_requests|tenant_bucket)/.test(l),
    );
    if (laTenant.length !== lb.length || laTenant.some((l, i) => l !== lb[i]))
      throw new Error(`the two renderings differ for ${tenants} tenants: refusing to time them`);

    const runs: Record<'ours' | 'peer', { ms: number[]; block: number[]; bytes: number }> = {
      ours: { ms: [], block: [], bytes: 0 },
      peer: { ms: [], block: [], bytes: 0 },
    };
    // Warm-up, then alternate so both see the same machine.
    for (let i = 0; i < 3; i++) {
      await scrapeOnce(ours);
      await scrapeOnce(peer);
    }
    for (let i = 0; i < SCRAPES; i++) {
      for (const [name, target] of [
        ['ours', ours],
        ['peer', peer],
      ] as const) {
        const r = await scrapeOnce(target);
        runs[name].ms.push(r.ms);
        runs[name].block.push(r.maxBlockMs);
        runs[name].bytes = r.bytes;
      }
    }
    const row = {
      tenants,
      series: laTenant.length,
      ours_scrape_ms_p50: round(median(runs.ours.ms)),
      ours_max_block_ms: round(Math.max(...runs.ours.block)),
      ours_max_block_ms_p50: round(median(runs.ours.block)),
      peer_scrape_ms_p50: round(median(runs.peer.ms)),
      peer_max_block_ms: round(Math.max(...runs.peer.block)),
      peer_max_block_ms_p50: round(median(runs.peer.block)),
      scrape_time_ratio: round(median(runs.peer.ms) / median(runs.ours.ms), 1),
      max_block_ratio: round(median(runs.peer.block) / median(runs.ours.block), 1),
    };
    results.push(row);
    process.stdout.write(
      `${tenants} tenants (${row.series} tenant series): ` +
        `ours ${row.ours_scrape_ms_p50} ms/scrape, longest block ${row.ours_max_block_ms_p50} ms (worst ${row.ours_max_block_ms}); ` +
        `prom-client ${row.peer_scrape_ms_p50} ms/scrape, longest block ${row.peer_max_block_ms_p50} ms (worst ${row.peer_max_block_ms}); ` +
        `scrape ${row.scrape_time_ratio}x faster, longest block ${row.max_block_ratio}x shorter\n`,
    );
  }
  process.stdout.write(`${JSON.stringify({ bench: 'metrics-scrape', scrapes: SCRAPES, results })}\n`);
}

await main();
