// The cost and burst settings: decimals read as numbers, bad values refused with the setting named.

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/lib/config-error.js';
import { loadSettings } from '../../../src/settings/settings.js';

describe('cost and burst settings', () => {
  it('default to no price, USD, and a 3× burst over a 24 h baseline', () => {
    const s = loadSettings({}, []).insight;
    expect(s.cost).toEqual({ perMillionSamples: 0, perGiB: 0, currency: 'USD' });
    expect(s.bursts).toEqual({
      enabled: true,
      factor: 3,
      minRate: 500,
      windowMs: 300_000,
      baselineMs: 86_400_000,
      warmupMs: 3_600_000,
      intervalMs: 15_000,
    });
  });

  it('reads decimal prices from env and flags', () => {
    const s = loadSettings({ COST_PRICE_PER_GIB: '0.09' }, [
      '--cost-price-per-million-samples=0.125',
    ]).insight;
    expect(s.cost.perMillionSamples).toBe(0.125);
    expect(s.cost.perGiB).toBe(0.09);
  });

  it.each([
    ['COST_PRICE_PER_MILLION_SAMPLES', '-1', /decimal number >= 0/],
    ['COST_PRICE_PER_MILLION_SAMPLES', '1e3', /decimal number >= 0/],
    ['COST_PRICE_PER_GIB', 'free', /decimal number >= 0/],
    ['COST_CURRENCY', 'US Dollar', /1-16 letters/],
    ['COST_CURRENCY', '=cmd()', /1-16 letters/],
    ['BURST_FACTOR', '1', /above 1/],
    ['BURST_FACTOR', '0.5', /above 1/],
    ['BURST_BASELINE', '1m', /longer than BURST_WINDOW/],
  ])('refuses %s=%s', (env, value, message) => {
    let error: unknown;
    try {
      loadSettings({ [env]: value }, []);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toContain(env);
    expect(String((error as Error).message)).toMatch(message);
  });
});
