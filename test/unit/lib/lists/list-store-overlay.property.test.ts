// The runtime sets that replicas share through Redis (src/decide/list-sync.ts): a replica that takes another's
// sets whole (setOverlay) must then answer exactly as that replica does, and one whose file differs must hold
// its own file minus the shared removals plus the shared additions. Planning a change changes nothing.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ListDefinition } from '../../../../src/lib/lists/list-definitions.js';
import { BLOCK_EFFECT } from '../../../../src/lib/lists/list-index.js';
import { ListStore } from '../../../../src/lib/lists/list-store.js';

const IPS = ['192.0.2.1', '192.0.2.0/24', '10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32', '2001:db8::1'];
const PROBES = [
  '192.0.2.1',
  '192.0.2.9',
  '10.1.2.3',
  '10.2.0.1',
  '2001:db8::1',
  '2001:db8::2',
  '203.0.113.1',
];

function store(fileEntries: string[]): ListStore {
  const def: ListDefinition = {
    name: 'nets',
    kind: 'ip',
    action: 'block',
    class: undefined,
    file: undefined,
    effect: BLOCK_EFFECT,
    fileEntries,
    inline: [],
  };
  return new ListStore([def]);
}

const op = fc.tuple(fc.constantFrom('add' as const, 'remove' as const), fc.subarray(IPS, { minLength: 1 }));

describe('ListStore runtime sets taken from another replica', () => {
  it('a replica with the same file answers exactly as the one that made the changes', () => {
    fc.assert(
      fc.property(fc.subarray(IPS), fc.array(op, { maxLength: 20 }), (file, ops) => {
        const writer = store(file);
        const reader = store(file);
        for (const [kind, entries] of ops) {
          const before = writer.entries('nets');
          const planned = writer.plan('nets', kind, entries);
          expect(writer.entries('nets')).toEqual(before); // planning alone changes nothing
          const changed = writer.applyDiff('nets', planned.diff);
          expect(changed).toBe(planned.changed.length > 0);
          const o = writer.overlay('nets')!;
          const readerVersion = reader.info('nets')!.version;
          expect(reader.setOverlay('nets', o.added, o.removed)).toBe(changed);
          expect(reader.info('nets')!.version).toBe(readerVersion + (changed ? 1 : 0));
          expect(new Set(reader.entries('nets'))).toEqual(new Set(writer.entries('nets')));
          expect(reader.info('nets')!.size).toBe(writer.info('nets')!.size);
          for (const ip of PROBES)
            expect(reader.index.effects({ ip }), ip).toBe(writer.index.effects({ ip }));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a replica with another file holds its file, minus the shared removals, plus the shared additions', () => {
    fc.assert(
      fc.property(
        fc.subarray(IPS),
        fc.subarray(IPS),
        fc.array(op, { maxLength: 20 }),
        (fileA, fileB, ops) => {
          const writer = store(fileA);
          const reader = store(fileB);
          for (const [kind, entries] of ops) {
            if (kind === 'add') writer.add('nets', entries);
            else writer.remove('nets', entries);
          }
          const o = writer.overlay('nets')!;
          reader.setOverlay('nets', o.added, o.removed);
          const expected = new Set([...fileB.filter((e) => !o.removed.includes(e)), ...o.added]);
          expect(new Set(reader.entries('nets'))).toEqual(expected);
          expect(reader.info('nets')!.size).toBe(expected.size);
        },
      ),
      { numRuns: 300 },
    );
  });
});
