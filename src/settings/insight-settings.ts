// Reads the cost and burst settings (src/settings/definitions/insight.ts) into one typed, checked object.
// Prices and the burst factor are decimals, which the setting kinds do not have: they are read here, and a
// bad one is a ConfigError naming the setting, where it came from and the value.

import { ConfigError } from '../lib/config-error.js';
import type { Get, Raw } from './settings.js';

export interface CostPriceSettings {
  /** Price of 10^6 accepted items (samples, histogram samples, exemplars, metadata). */
  perMillionSamples: number;
  /** Price of 2^30 bytes of accepted write bodies, compressed, as received. */
  perGiB: number;
  currency: string;
}

export interface BurstSettings {
  enabled: boolean;
  factor: number;
  /** Items/s. */
  minRate: number;
  windowMs: number;
  baselineMs: number;
  warmupMs: number;
  intervalMs: number;
}

export interface InsightSettings {
  cost: CostPriceSettings;
  bursts: BurstSettings;
}

const DECIMAL = /^\d+(?:\.\d+)?$/;
const CURRENCY = /^[\p{L}\p{N}\p{Sc}._-]{1,16}$/u;

function decimal(
  get: Get,
  raw: Raw,
  name: 'COST_PRICE_PER_MILLION_SAMPLES' | 'COST_PRICE_PER_GIB' | 'BURST_FACTOR',
) {
  const text = get(name).trim();
  const n = Number(text);
  if (!DECIMAL.test(text) || !Number.isFinite(n))
    throw new ConfigError(
      raw(name).source,
      name,
      `must be a decimal number >= 0 such as 0.25, got ${JSON.stringify(text)}`,
    );
  return n;
}

export function insightSettings(get: Get, raw: Raw): InsightSettings {
  const currency = get('COST_CURRENCY').trim();
  if (!CURRENCY.test(currency))
    throw new ConfigError(
      raw('COST_CURRENCY').source,
      'COST_CURRENCY',
      `must be 1-16 letters, digits or currency symbols, got ${JSON.stringify(currency)}`,
    );
  const factor = decimal(get, raw, 'BURST_FACTOR');
  if (factor <= 1)
    throw new ConfigError(raw('BURST_FACTOR').source, 'BURST_FACTOR', `must be above 1, got ${factor}`);
  const windowMs = get('BURST_WINDOW');
  const baselineMs = get('BURST_BASELINE');
  if (baselineMs <= windowMs)
    throw new ConfigError(
      raw('BURST_BASELINE').source,
      'BURST_BASELINE',
      `must be longer than BURST_WINDOW (${windowMs} ms), got ${baselineMs} ms`,
    );
  return Object.freeze({
    cost: Object.freeze({
      perMillionSamples: decimal(get, raw, 'COST_PRICE_PER_MILLION_SAMPLES'),
      perGiB: decimal(get, raw, 'COST_PRICE_PER_GIB'),
      currency,
    }),
    bursts: Object.freeze({
      enabled: get('BURST_DETECTION'),
      factor,
      minRate: get('BURST_MIN_RATE'),
      windowMs,
      baselineMs,
      warmupMs: get('BURST_WARMUP'),
      intervalMs: get('BURST_INTERVAL'),
    }),
  });
}
