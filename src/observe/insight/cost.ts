// What a tenant's accepted usage costs at the configured prices: items (what ingestion_rate counts) per
// million, and write-body bytes per GiB. Pure arithmetic; the admin API and the metrics both use it, so the
// export and Grafana show the same figure for the same usage.

import type { CostPriceSettings } from '../../settings/insight-settings.js';

export const SAMPLES_PER_PRICE_UNIT = 1_000_000;
export const BYTES_PER_GIB = 1024 ** 3;

/** Accepted usage of one tenant over some period. */
export interface Usage {
  /** Items in accepted requests (samples, histogram samples, exemplars, metadata). */
  samples: number;
  /** Compressed bytes of accepted write bodies. */
  bytes: number;
}

export interface Cost {
  samplesCost: number;
  bytesCost: number;
  total: number;
}

/**
 * Money rounded to 10^-9 of the currency unit. Cost figures are floating point; rounding at one place keeps
 * 0.1 + 0.2 from showing as 0.30000000000000004 in an export, far below any price's precision.
 */
export function roundMoney(n: number): number {
  return Math.round(n * 1e9) / 1e9;
}

export function costOf(usage: Usage, prices: CostPriceSettings): Cost {
  const samplesCost = (usage.samples / SAMPLES_PER_PRICE_UNIT) * prices.perMillionSamples;
  const bytesCost = (usage.bytes / BYTES_PER_GIB) * prices.perGiB;
  return {
    samplesCost: roundMoney(samplesCost),
    bytesCost: roundMoney(bytesCost),
    total: roundMoney(samplesCost + bytesCost),
  };
}
