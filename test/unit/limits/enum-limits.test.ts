// The `enum` limits' words live in one table (ENUM_LIMIT_VALUES), and code asks limitIs(limits, name, word)
// rather than comparing the index a limit holds: the definitions use the table's words, and limitIs agrees with
// the index a word is stored as (limitValue), for every word of every enum limit.
import { describe, expect, it } from 'vitest';
import {
  ENUM_LIMIT_VALUES,
  LIMIT_DEFINITIONS,
  enumIndex,
  limitIs,
  limitValue,
  validateLimitValue,
} from '../../../src/limits/limit-definitions.js';
import type { EnumLimitName } from '../../../src/limits/limit-definitions.js';

const enumNames = Object.keys(ENUM_LIMIT_VALUES) as EnumLimitName[];

describe('enum limits', () => {
  it('has one table entry per enum definition, with the same words in the same order', () => {
    const enumDefinitions = LIMIT_DEFINITIONS.filter((d) => d.kind === 'enum');
    expect(enumDefinitions.map((d) => d.name).sort()).toEqual([...enumNames].sort());
    for (const def of enumDefinitions) {
      expect(def.values).toEqual(ENUM_LIMIT_VALUES[def.name as EnumLimitName]);
    }
    // Only enum limits have words.
    expect(LIMIT_DEFINITIONS.filter((d) => d.values !== undefined && d.kind !== 'enum')).toEqual([]);
  });

  it('limitIs agrees with the index each word is stored as, for every word of every enum limit', () => {
    for (const name of enumNames) {
      const def = LIMIT_DEFINITIONS.find((d) => d.name === name)!;
      const words: readonly string[] = ENUM_LIMIT_VALUES[name];
      for (const stored of words) {
        expect(validateLimitValue(def, stored)).toBeUndefined();
        const limits = { [name]: limitValue(def, stored) as number } as Record<EnumLimitName, number>;
        for (const asked of words) {
          expect(limitIs(limits, name, asked as never)).toBe(asked === stored);
        }
        expect(enumIndex(name, stored as never)).toBe(limitValue(def, stored));
      }
    }
  });

  it('keeps the defaults Mimir has: error, partial acceptance on, selective filtering and HA off', () => {
    const defaults = Object.fromEntries(LIMIT_DEFINITIONS.map((d) => [d.name, d.defaultValue])) as Record<
      EnumLimitName,
      number
    >;
    expect(limitIs(defaults, 'label_value_length_over_limit_strategy', 'error')).toBe(true);
    expect(limitIs(defaults, 'partial_acceptance', 'true')).toBe(true);
    expect(limitIs(defaults, 'selective_filtering', 'false')).toBe(true);
    expect(limitIs(defaults, 'accept_ha_samples', 'false')).toBe(true);
  });

  it('refuses a word the limit does not take, at compile time', () => {
    const limits = { accept_ha_samples: 1 } as Record<EnumLimitName, number>;
    // @ts-expect-error 'yes' is not a word of accept_ha_samples
    expect(limitIs(limits, 'accept_ha_samples', 'yes')).toBe(false);
    // @ts-expect-error 'truncate' belongs to label_value_length_over_limit_strategy
    expect(limitIs(limits, 'selective_filtering', 'truncate')).toBe(false);
  });
});
