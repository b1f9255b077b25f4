// The list store under any sequence of file reloads and runtime additions and removals, on lists that share
// entries: what the index answers for an address or key is always what a plain model of the lists says, whether
// the store updated its index in place (small changes) or rebuilt it (large ones).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ListDefinition } from '../../../../src/lib/lists/list-definitions.js';
import { ALLOW_EFFECT, BLOCK_EFFECT } from '../../../../src/lib/lists/list-index.js';
import type { ListKind } from '../../../../src/lib/lists/list-format.js';
import { ListStore } from '../../../../src/lib/lists/list-store.js';

const TOR = 1 << 2;

function def(name: string, kind: ListKind, effect: number, fileEntries: string[]): ListDefinition {
  return {
    name,
    kind,
    action: undefined,
    class: undefined,
    file: undefined,
    effect,
    fileEntries,
    inline: [],
  };
}

// A few addresses and nested ranges, so lists overlap and entries come and go.
const IPS = ['192.0.2.1', '192.0.2.0/24', '10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32', '2001:db8::1'];
const KEYS = ['k1', 'k2', 'k3'];
const LISTS = [
  { name: 'block-ips', kind: 'ip' as const, effect: BLOCK_EFFECT, pool: IPS },
  { name: 'tor', kind: 'ip' as const, effect: TOR, pool: IPS },
  { name: 'allow-ips', kind: 'ip' as const, effect: ALLOW_EFFECT, pool: IPS },
  { name: 'keys', kind: 'api_key' as const, effect: BLOCK_EFFECT, pool: KEYS },
];
const PROBES = [
  '192.0.2.1',
  '192.0.2.9',
  '10.1.2.3',
  '10.2.0.1',
  '2001:db8::1',
  '2001:db8::2',
  '203.0.113.1',
];

/** Whether `ip` is inside `range` (tiny: the probes and ranges above are simple enough to check by hand). */
function inside(ip: string, range: string): boolean {
  const [net, bits] = range.split('/') as [string, string | undefined];
  if (bits === undefined) return ip === net;
  if (net.includes(':')) return ip.includes(':') && ip.startsWith('2001:db8:');
  const prefix =
    net
      .split('.')
      .slice(0, Number(bits) / 8)
      .join('.') + '.';
  return ip.startsWith(prefix);
}

const listIndex = fc.nat(LISTS.length - 1);
const op = fc.oneof(
  fc.tuple(fc.constant('file' as const), listIndex, fc.subarray(IPS.concat(KEYS))),
  fc.tuple(fc.constant('add' as const), listIndex, fc.subarray(IPS.concat(KEYS), { minLength: 1 })),
  fc.tuple(fc.constant('remove' as const), listIndex, fc.subarray(IPS.concat(KEYS), { minLength: 1 })),
);

describe('ListStore', () => {
  it('answers like a model of the lists after any file reloads, additions and removals', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const store = new ListStore(LISTS.map((l) => def(l.name, l.kind, l.effect, [])));
        const model = LISTS.map(() => ({
          file: new Set<string>(),
          added: new Set<string>(),
          removed: new Set<string>(),
        }));
        for (const [kind, i, raw] of ops) {
          const list = LISTS[i]!;
          const entries = raw.filter((e) => list.pool.includes(e));
          const m = model[i]!;
          if (kind === 'file') {
            store.setFileEntries(list.name, entries);
            m.file = new Set(entries);
            for (const e of [...m.added]) if (m.file.has(e)) m.added.delete(e);
            for (const e of [...m.removed]) if (!m.file.has(e)) m.removed.delete(e);
          } else if (entries.length > 0) {
            if (kind === 'add') store.add(list.name, entries);
            else store.remove(list.name, entries);
            for (const e of entries) {
              if (kind === 'add') {
                if (!m.removed.delete(e) && !m.file.has(e)) m.added.add(e);
              } else if (!m.added.delete(e) && m.file.has(e)) m.removed.add(e);
            }
          }
          const inForce = (j: number): string[] => {
            const mj = model[j]!;
            return [...mj.file].filter((e) => !mj.removed.has(e)).concat([...mj.added]);
          };
          LISTS.forEach((l, j) => {
            expect(new Set(store.entries(l.name))).toEqual(new Set(inForce(j)));
            expect(store.info(l.name)!.size).toBe(inForce(j).length);
          });
          for (const ip of PROBES) {
            let expected = 0;
            LISTS.forEach((l, j) => {
              if (l.kind === 'ip' && inForce(j).some((r) => inside(ip, r))) expected |= l.effect;
            });
            expect(store.index.effects({ ip }), ip).toBe(expected);
          }
          for (const apiKey of KEYS) {
            const expected = inForce(3).includes(apiKey) ? BLOCK_EFFECT : 0;
            expect(store.index.effects({ apiKey })).toBe(expected);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
