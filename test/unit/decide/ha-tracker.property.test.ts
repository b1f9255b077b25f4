// Mimir's HA tracker rules, as the in-process election applies them: checked over random histories of writes
// from the replicas of a few clusters, against what a sender can observe (which writes were accepted, when).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HA_CLUSTER_FORGET_MS, HaTracker } from '../../../src/decide/ha-tracker.js';
import type { HaVerdict } from '../../../src/decide/ha-tracker.js';

interface Write {
  dt: number;
  cluster: string;
  replica: string;
}

const write = fc.record({
  dt: fc.integer({ min: 0, max: 15_000 }),
  cluster: fc.constantFrom('a', 'b', 'c'),
  replica: fc.constantFrom('r1', 'r2', 'r3'),
});

function play(writes: Write[], timeoutMs: number, maxClusters: number) {
  const tracker = new HaTracker();
  let now = 1_000_000;
  return writes.map((w) => {
    now += w.dt;
    const verdict: HaVerdict = tracker.elect({
      tenant: 't',
      cluster: w.cluster,
      replica: w.replica,
      nowMs: now,
      failoverTimeoutMs: timeoutMs,
      maxClusters,
    });
    return { ...w, now, verdict };
  });
}

describe('HA tracker (property)', () => {
  it('accepts one replica per cluster at a time, and switches only after the elected one was silent for the timeout', () => {
    fc.assert(
      fc.property(
        fc.array(write, { maxLength: 60 }),
        fc.constantFrom(1_000, 5_000, 30_000),
        (writes, timeout) => {
          const lastAccepted = new Map<string, { replica: string; at: number }>();
          for (const step of play(writes, timeout, 0)) {
            const last = lastAccepted.get(step.cluster);
            const v = step.verdict;
            if (v.kind === 'accept') {
              expect(v.elected).toBe(step.replica);
              if (last && last.replica !== step.replica) {
                // A switch of replica: the previous elected one must have been silent for the whole timeout.
                expect(step.now - last.at).toBeGreaterThanOrEqual(timeout);
                expect(v.failover).toBe(true);
              }
              lastAccepted.set(step.cluster, { replica: step.replica, at: step.now });
            } else {
              expect(v.kind).toBe('dedupe');
              // Deduplicated only while the elected replica is live, and it names that replica.
              expect(last).toBeDefined();
              expect(v.kind === 'dedupe' && v.elected).toBe(last!.replica);
              expect(step.now - last!.at).toBeLessThan(timeout);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never tracks more live clusters than ha_max_clusters, and refuses only a new cluster', () => {
    fc.assert(
      fc.property(fc.array(write, { maxLength: 40 }), fc.integer({ min: 1, max: 3 }), (writes, max) => {
        const known = new Set<string>();
        for (const step of play(writes, 5_000, max)) {
          if (step.verdict.kind === 'too_many_clusters') {
            expect(known.has(step.cluster), `cluster ${step.cluster} was already tracked`).toBe(false);
            expect(known.size).toBe(max);
            expect(step.verdict.limit).toBe(max);
          } else {
            known.add(step.cluster);
          }
          expect(known.size).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('forgets a cluster silent for 30 minutes, freeing its place under ha_max_clusters', () => {
    const tracker = new HaTracker();
    const ask = (cluster: string, replica: string, nowMs: number) =>
      tracker.elect({ tenant: 't', cluster, replica, nowMs, failoverTimeoutMs: 30_000, maxClusters: 1 });
    expect(ask('a', 'r1', 0).kind).toBe('accept');
    expect(ask('b', 'r1', 1000).kind).toBe('too_many_clusters');
    expect(ask('b', 'r1', HA_CLUSTER_FORGET_MS).kind).toBe('accept');
    expect(tracker.electedOf('t', 'a')).toBeUndefined();
  });

  it('keeps tenants apart: the same cluster name elects per tenant', () => {
    const tracker = new HaTracker();
    const q = { cluster: 'a', nowMs: 0, failoverTimeoutMs: 30_000, maxClusters: 0 };
    expect(tracker.elect({ ...q, tenant: 't1', replica: 'r1' }).kind).toBe('accept');
    expect(tracker.elect({ ...q, tenant: 't2', replica: 'r2' }).kind).toBe('accept');
    expect(tracker.elect({ ...q, tenant: 't1', replica: 'r2' })).toEqual({ kind: 'dedupe', elected: 'r1' });
  });
});
