// How a burst flag reads in the admin API: JSON-safe (an infinite ratio is null), times as ISO, the settings
// the detector runs with, and the bursts that ended, newest first.

import { describe, expect, it } from 'vitest';
import type { AdminContext } from '../../../src/admin/context.js';
import { burstJson } from '../../../src/admin/burst-json.js';
import { burstsReport } from '../../../src/admin/insight-views.js';
import { BurstDetector } from '../../../src/observe/insight/burst-detector.js';
import { loadSettings } from '../../../src/settings/settings.js';

const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);

describe('GET /api/bursts', () => {
  it('shows an infinite ratio (traffic over a zero baseline) as null', () => {
    const json = burstJson({
      tenant: 't',
      flagged: true,
      warm: true,
      rate: 10,
      baseline: 0,
      ratio: Number.POSITIVE_INFINITY,
      sinceMs: T0,
      peakRate: 12.34567,
      historyMs: 7_200_000,
    });
    expect(json).toEqual({
      tenant: 't',
      flagged: true,
      warm: true,
      rate: 10,
      baseline: 0,
      ratio: null,
      since: '2026-01-05T00:00:00.000Z',
      peak_rate: 12.346,
      history_seconds: 7200,
    });
  });

  it('lists flagged tenants JSON-safe, with the settings and the bursts that ended', () => {
    const settings = loadSettings({ BURST_WARMUP: '0s', BURST_MIN_RATE: '1' }, []);
    const d = new BurstDetector(settings.insight.bursts);
    let a = 0;
    let b = 0;
    // "quiet" sends nothing for an hour, then starts.
    d.update(T0, [
      ['steady', a],
      ['quiet', b],
    ]);
    for (let t = 15_000; t <= 3_600_000; t += 15_000) {
      a += 15_000;
      d.update(T0 + t, [
        ['steady', a],
        ['quiet', b],
      ]);
    }
    d.update(T0 + 3_600_000 + 1, [
      ['steady', a],
      ['quiet', b],
    ]);
    const ctx = { settings, bursts: d } as unknown as AdminContext;
    let report = burstsReport(ctx);
    expect(report.enabled).toBe(true);
    expect(report.settings).toMatchObject({ factor: 3, clear_factor: 2, min_rate: 1, window_seconds: 300 });
    expect(report.flagged).toEqual([]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);

    for (let t = 15_000; t <= 600_000; t += 15_000) {
      b += 15_000;
      a += 15_000;
      d.update(T0 + 3_600_000 + t, [
        ['steady', a],
        ['quiet', b],
      ]);
    }
    report = burstsReport(ctx);
    expect(report.flagged.map((f) => f.tenant)).toEqual(['quiet']);
    expect(report.flagged[0]).toMatchObject({ flagged: true, warm: true });
    expect(report.flagged[0]!.since).toMatch(/^2026-01-05T01:0/);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);

    const off = burstsReport({
      settings: loadSettings({ BURST_DETECTION: 'false' }, []),
    } as unknown as AdminContext);
    expect(off).toMatchObject({ enabled: false, flagged: [], recent: [], tenants: 0 });
  });
});
