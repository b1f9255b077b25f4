// The per-tenant families of /metrics (TenantSeries inside EdgeMetrics) against prom-client rendering the same
// series the way EdgeMetrics used to: names, labels and values must stay identical (dashboards, alerts and
// runbooks query them), and a scrape with 10,000 tenants must leave the event loop free between short slices.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REASONS } from '../../../src/decision/catalogue.js';
import type { DecisionReason } from '../../../src/decision/decision.js';
import { EdgeMetrics } from '../../../src/observe/metrics.js';
import { headerLines, PromClientTenantMetrics, seriesLines } from '../../helpers/tenant-metrics-peer.js';

const TENANT_FAMILIES = [
  'rls_decisions_total',
  'rls_would_deny_total',
  'rls_unchecked_requests_total',
  'rls_samples_total',
  'rls_tenant_bucket_tokens',
];
const ofTenantFamilies = (line: string): boolean =>
  TENANT_FAMILIES.some((f) => line.startsWith(`${f}{`) || line.includes(` ${f} `));

const reasons = Object.keys(REASONS) as DecisionReason[];

type Op =
  | { kind: 'allow'; tenant: string; samples: number }
  | { kind: 'deny'; tenant: string; reason: DecisionReason; samples: number }
  | { kind: 'wouldDeny'; tenant: string; reason: DecisionReason }
  | { kind: 'unchecked'; tenant: string }
  | { kind: 'forget'; tenant: string }
  | { kind: 'scrape'; buckets: [string, 'samples' | 'requests', number][] };

// A few ordinary names plus the awkward ones a label value must escape (quote, backslash, newline, unicode).
const tenantArb = fc.constantFrom(
  'team-a',
  'team-b',
  '__other__',
  '<none>',
  'a"b',
  'back\\slash',
  'new\nline',
  'tëst',
  'x',
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('allow' as const), tenant: tenantArb, samples: fc.nat(5000) }),
  fc.record({
    kind: fc.constant('deny' as const),
    tenant: tenantArb,
    reason: fc.constantFrom(...reasons),
    samples: fc.nat(5000),
  }),
  fc.record({
    kind: fc.constant('wouldDeny' as const),
    tenant: tenantArb,
    reason: fc.constantFrom(...reasons),
  }),
  fc.record({ kind: fc.constant('unchecked' as const), tenant: tenantArb }),
  fc.record({ kind: fc.constant('forget' as const), tenant: tenantArb }),
  fc.record({
    kind: fc.constant('scrape' as const),
    buckets: fc.array(
      fc.tuple(
        tenantArb,
        fc.constantFrom('samples' as const, 'requests' as const),
        fc.oneof(fc.double({ min: -1e6, max: 1e12, noNaN: true }), fc.constant(0), fc.integer()),
      ),
      { maxLength: 6 },
    ),
  }),
);

async function apply(ours: EdgeMetrics, peer: PromClientTenantMetrics, ops: Op[]): Promise<void> {
  for (const op of ops) {
    for (const m of [ours, peer]) {
      switch (op.kind) {
        case 'allow':
          m.recordAllowed(op.tenant, op.samples);
          break;
        case 'deny':
          m.recordDenied(op.tenant, op.reason, op.samples);
          break;
        case 'wouldDeny':
          m.wouldDeny.labels(op.tenant, op.reason).inc();
          break;
        case 'unchecked':
          m.unchecked.labels(op.tenant).inc();
          break;
        case 'forget':
          m.forgetTenant(op.tenant);
          break;
        case 'scrape':
          m.bucketLevels = (report) => {
            for (const [t, type, tokens] of op.buckets) report(t, type, tokens);
          };
          break;
      }
    }
    if (op.kind === 'scrape') await Promise.all([ours.registry.metrics(), peer.registry.metrics()]);
  }
}

describe('per-tenant metric families', () => {
  it('render the same series, labels and values as prom-client did, for any sequence of records', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), async (ops) => {
        const ours = new EdgeMetrics(false);
        const peer = new PromClientTenantMetrics();
        await apply(ours, peer, ops);
        const [a, b] = await Promise.all([ours.registry.metrics(), peer.registry.metrics()]);
        expect(seriesLines(a).filter(ofTenantFamilies), 'series lines of /metrics changed').toEqual(
          seriesLines(b),
        );
        expect(headerLines(a).filter(ofTenantFamilies), 'HELP/TYPE lines changed').toEqual(headerLines(b));
      }),
      { numRuns: 300 },
    );
  });

  it('name every family with HELP and TYPE before any request', async () => {
    const text = await new EdgeMetrics(false).registry.metrics();
    for (const name of TENANT_FAMILIES) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('# TYPE rls_tenant_bucket_tokens gauge');
    expect(text).toContain('# TYPE rls_decisions_total counter');
  });

  it('print exactly the lines an operator queries', async () => {
    const m = new EdgeMetrics(false);
    m.recordAllowed('team-a', 120);
    m.recordAllowed('team-a', 0);
    m.recordDenied('team-a', 'ingestion_rate', 400);
    m.wouldDeny.labels('team-b', 'max_label_names_per_series').inc();
    m.unchecked.labels('team-c').inc();
    m.bucketLevels = (report) => {
      report('team-a', 'samples', 12.5);
      report('team-a', 'requests', 3);
    };
    const lines = seriesLines(await m.registry.metrics()).filter(ofTenantFamilies);
    expect(lines).toEqual(
      [
        'rls_decisions_total{decision="allow",tenant="team-a",reason="allowed"} 2',
        'rls_decisions_total{decision="deny",tenant="team-a",reason="ingestion_rate"} 1',
        'rls_samples_total{tenant="team-a",decision="allow"} 120',
        'rls_samples_total{tenant="team-a",decision="deny"} 400',
        'rls_would_deny_total{tenant="team-b",reason="max_label_names_per_series"} 1',
        'rls_unchecked_requests_total{tenant="team-c"} 1',
        'rls_tenant_bucket_tokens{tenant="team-a",bucket_type="samples"} 12.5',
        'rls_tenant_bucket_tokens{tenant="team-a",bucket_type="requests"} 3',
      ].sort(),
    );
    m.forgetTenant('team-a');
    m.bucketLevels = undefined;
    const after = seriesLines(await m.registry.metrics()).filter(ofTenantFamilies);
    expect(
      after.some((l) => l.includes('team-a')),
      'an evicted tenant leaves no series behind',
    ).toBe(false);
    const json = await m.registry.getMetricsAsJSON();
    expect(json.find((f) => f.name === 'rls_would_deny_total')?.values).toEqual([
      { labels: { tenant: 'team-b', reason: 'max_label_names_per_series' }, value: 1 },
    ]);
  });

  it('scrape 10,000 tenants in short slices, leaving the event loop free in between', async () => {
    const m = new EdgeMetrics(false);
    const names = Array.from({ length: 10_000 }, (_, i) => `tenant-${i}`);
    names.forEach((t, i) => {
      m.recordAllowed(t, 100);
      if (i % 10 === 0) m.recordDenied(t, 'ingestion_rate', 50);
    });
    m.bucketLevels = (report) => {
      for (const t of names) report(t, 'samples', 1);
    };
    // Measured in this process's CPU time, which leaves out the time the scheduler gave to other processes (the
    // other test worker, its servers): on a 2-core machine that stretched 2 ms slices past 20 ms of wall time.
    // A garbage collection can still land in a block, and how long one takes depends on the load, so the test
    // compares the longest block with the whole scrape: unsliced, the longest block is the scrape.
    const cpuMs = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const scrapes: { longestMs: number; totalMs: number; turns: number }[] = [];
    for (let scrape = 0; scrape < 5; scrape++) {
      // A setImmediate chain gets a turn between every two macrotasks: its widest gap is the longest block.
      let running = true;
      const started = cpuMs();
      let last = started;
      let longestMs = 0;
      let turns = 0;
      const probe = (): void => {
        const now = cpuMs();
        longestMs = Math.max(longestMs, now - last);
        last = now;
        turns++;
        if (running) setImmediate(probe);
      };
      setImmediate(probe);
      const text = await m.registry.metrics();
      running = false;
      const totalMs = cpuMs() - started;
      await new Promise((r) => setImmediate(r));
      expect(text.split('\n').filter((l) => l.startsWith('rls_decisions_total{')).length).toBe(11_000);
      scrapes.push({ longestMs, totalMs, turns });
    }
    const shares = scrapes.map((s) => s.longestMs / s.totalMs).sort((a, b) => a - b);
    // prom-client rendering the same series held the loop 60-160 ms in one piece (bench:metrics); ours yields
    // every RENDER_SLICE_MS of wall time, so the loop gets turns and no block is the whole scrape (how many
    // slices depends on the machine's speed).
    const detail = scrapes
      .map((s) => `${s.longestMs.toFixed(1)} of ${s.totalMs.toFixed(1)} ms, ${s.turns} turns`)
      .join('; ');
    // Unsliced, a scrape is one block (share 1.0, one turn); sliced, it measured 0.3-0.6 and 4-8 turns under
    // the full suite's load, and the longest block holds a collection or the final join more often than not.
    const turns = scrapes.map((s) => s.turns).sort((a, b) => a - b);
    expect(shares[2], `longest block of each scrape, CPU time: ${detail}`).toBeLessThan(0.75);
    expect(turns[2], `event-loop turns during each scrape: ${detail}`).toBeGreaterThanOrEqual(3);
  });
});
