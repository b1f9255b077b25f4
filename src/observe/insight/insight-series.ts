// The per-tenant cost and burst metrics, rendered at scrape time from what the detector and the per-tenant
// counters already hold: nothing is added to the write path. Tenants are the names TrafficStats tracks, so
// the labels are bounded by the one tenant label cap (MAX_TENANT_LABELS). Like TenantSeries, the text is
// written straight from plain numbers and the event loop is given back every few milliseconds.

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { CostPriceSettings } from '../../settings/insight-settings.js';
import type { FamilyJson, TextFamily } from '../tenant-series.js';
import { RENDER_SLICE_MS, escapeLabelValue, formatValue } from '../tenant-series.js';
import type { BurstView } from './burst-detector.js';
import { costOf } from './cost.js';

/** Cumulative accepted usage of one tenant since it was first counted (TrafficStats). */
export interface TenantUsage {
  tenant: string;
  samples: number;
  bytes: number;
}

interface Line {
  labels: Record<string, string>;
  value: number;
}

/** Calls `push` once per series; `currency` is the second label of the cost family. */
type Lines = (push: (tenant: string, value: number, currency?: string) => void) => void;

export class InsightSeries {
  /** Set by the service: every tenant the burst detector tracks. */
  bursts: (() => Iterable<BurstView>) | undefined;
  /** Set by the service: accepted usage per tracked tenant, and the prices. */
  usage: (() => Iterable<TenantUsage>) | undefined;
  prices: CostPriceSettings | undefined;

  families(): TextFamily[] {
    const warm =
      (write: (v: BurstView) => number): Lines =>
      (push) => {
        for (const v of this.bursts?.() ?? []) if (v.warm) push(v.tenant, write(v));
      };
    return [
      family(
        'rls_tenant_burst',
        'gauge',
        "1 while a tenant's recent items/s exceed BURST_FACTOR times its own baseline (docs/cost-and-bursts.md), else 0; tenants with BURST_WARMUP of history only.",
        warm((v) => (v.flagged ? 1 : 0)),
      ),
      family(
        'rls_tenant_burst_ratio',
        'gauge',
        "A tenant's recent items/s (EWMA over BURST_WINDOW) divided by its baseline (EWMA over BURST_BASELINE).",
        warm((v) => v.ratio),
      ),
      family(
        'rls_tenant_accepted_bytes_total',
        'counter',
        'Compressed bytes of accepted write bodies by tenant (what COST_PRICE_PER_GIB prices).',
        (push) => {
          for (const u of this.usage?.() ?? []) push(u.tenant, u.bytes);
        },
      ),
      family(
        'rls_tenant_cost_total',
        'counter',
        'Cost of accepted items and bytes by tenant at COST_PRICE_PER_MILLION_SAMPLES and COST_PRICE_PER_GIB, in COST_CURRENCY.',
        (push) => {
          const prices = this.prices;
          if (!prices) return;
          for (const u of this.usage?.() ?? []) push(u.tenant, costOf(u, prices).total, prices.currency);
        },
        ['tenant', 'currency'],
      ),
    ];
  }
}

function family(
  name: string,
  type: 'counter' | 'gauge',
  help: string,
  lines: Lines,
  labelNames: readonly string[] = ['tenant'],
): TextFamily {
  const header = `# HELP ${name} ${help}\n# TYPE ${name} ${type}`;
  return {
    name,
    help,
    type,
    labelNames,
    aggregator: 'sum',
    async render() {
      const out: string[] = [header];
      const pending: [string, number, string | undefined][] = [];
      lines((tenant, value, currency) => pending.push([tenant, value, currency]));
      let sliceStart = performance.now();
      for (let i = 0; i < pending.length; i++) {
        const [tenant, value, currency] = pending[i]!;
        const labels =
          `tenant="${escapeLabelValue(tenant)}"` +
          (currency === undefined ? '' : `,currency="${escapeLabelValue(currency)}"`);
        out.push(`${name}{${labels}} ${formatValue(value)}`);
        if ((i & 255) === 255 && performance.now() - sliceStart > RENDER_SLICE_MS) {
          await yieldToLoop();
          sliceStart = performance.now();
        }
      }
      return out.join('\n');
    },
    get(): Promise<FamilyJson> {
      const values: Line[] = [];
      lines((tenant, value, currency) =>
        values.push({ labels: currency === undefined ? { tenant } : { tenant, currency }, value }),
      );
      return Promise.resolve({ name, help, type, aggregator: 'sum', values });
    },
    reset() {},
  };
}
