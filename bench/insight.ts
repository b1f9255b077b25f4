// What the cost and burst insight costs off the write path, at 10,000 tenants: one burst-detector pass (run
// every BURST_INTERVAL), rendering the four per-tenant families for a scrape, and one GET /api/cost report
// over 24h and 7d. None of these runs per request; the write path only pays the rings' extra denied-bytes column.
// Usage: npm run bench:insight [-- --quick]. Prints one line per case, then one JSON line.

import { cpus, loadavg } from 'node:os';
import { costReport } from '../src/admin/insight-views.js';
import type { AdminContext } from '../src/admin/context.js';
import { ALLOWED } from '../src/decision/catalogue.js';
import { BurstDetector } from '../src/observe/insight/burst-detector.js';
import { EdgeMetrics } from '../src/observe/metrics.js';
import { DecisionAggregator } from '../src/observe/stats/decision-aggregator.js';
import { loadSettings } from '../src/settings/settings.js';
import { median } from './lib/stats.js';
import { TYPICAL_WRITE } from './lib/write-info.js';

const quick = process.argv.includes('--quick');
const TENANTS = 10_000;
const ROUNDS = quick ? 3 : 9;
const names = Array.from({ length: TENANTS }, (_, i) => `tenant-${i}`);
const info = TYPICAL_WRITE;

async function time(run: () => unknown): Promise<number> {
  const ms: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

const settings = loadSettings({ COST_PRICE_PER_MILLION_SAMPLES: '0.5', COST_PRICE_PER_GIB: '0.1' }, []);
const detector = new BurstDetector(settings.insight.bursts);
let clock = Date.now();
const totals = names.map((n, i) => [n, i * 1000] as [string, number]);
detector.update(clock, totals);
const detectorMs = await time(() => {
  clock += 15_000;
  for (const t of totals) t[1] += 7_500;
  detector.update(clock, totals);
});

const metrics = new EdgeMetrics(false);
metrics.insight.bursts = () => detector.views();
metrics.insight.prices = settings.insight.cost;
metrics.insight.usage = function* () {
  for (const [tenant, n] of totals) yield { tenant, samples: n, bytes: n * 40 };
};
const families = metrics.insight.families();
const renderMs = await time(() => Promise.all(families.map((f) => f.render())));

// One decision per tenant in each 30-min bucket of the last day, and each 4-h bucket of the week.
const start = Date.now() - 7 * 86_400_000;
const aggregator = new DecisionAggregator(Number.MAX_SAFE_INTEGER, start);
for (let t = start; t < start + 7 * 86_400_000; t += 1_800_000)
  for (const n of names) aggregator.record(n, t, ALLOWED, info, 0);
const ctx = { settings, aggregator, now: () => start + 7 * 86_400_000 } as unknown as AdminContext;
const cost24hMs = await time(() => costReport(ctx, '24h'));
const cost7dMs = await time(() => costReport(ctx, '7d'));

const result = {
  tenants: TENANTS,
  rounds: ROUNDS,
  detector_pass_ms: detectorMs,
  render_four_families_ms: renderMs,
  cost_report_24h_ms: cost24hMs,
  cost_report_7d_ms: cost7dMs,
  node: process.version,
  cpu: cpus()[0]?.model,
  cpus: cpus().length,
  load: loadavg()[0],
};
console.log(`burst detector, one pass over ${TENANTS} tenants: ${detectorMs.toFixed(2)} ms`);
console.log(`rls_tenant_burst*, cost, bytes families, ${TENANTS} tenants: ${renderMs.toFixed(2)} ms`);
console.log(
  `GET /api/cost report, ${TENANTS} tenants: 24h ${cost24hMs.toFixed(2)} ms, 7d ${cost7dMs.toFixed(2)} ms`,
);
console.log(JSON.stringify(result));
