// Mimir's max_metadata_length at the edge: which RW1 metadata entries are kept and which error is reported must
// match an oracle written from Mimir's cleanAndValidateMetadata (name checked before unit, HELP never refuses,
// the first dropped entry in body order decides), and the re-encoded body must hold exactly the kept entries.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { filterMetadataRw1, reencodeKept, scanWriteRequest } from '../../../src/remote-write/index.js';
import snappy from 'snappy';
import { encodeWriteRequest, writeRequest, writeRequestType } from '../../helpers/write-request.js';

interface Entry {
  name: string;
  help: string;
  unit: string;
}

const text = (max: number) => fc.string({ unit: fc.constantFrom(...'abé_'.split('')), maxLength: max });
const entryArb: fc.Arbitrary<Entry> = fc.record({ name: text(8), help: text(12), unit: text(8) });

function body(entries: Entry[], series: number): Buffer {
  const request = writeRequest(
    Array.from({ length: series }, (_, i) => ({ labels: { __name__: `s${i}` } })),
    0,
  );
  request.metadata = entries.map((e) => ({ type: 1, metricFamilyName: e.name, help: e.help, unit: e.unit }));
  return encodeWriteRequest(request);
}

function oracle(
  e: Entry,
  limit: number,
): 'kept' | 'metadata_metric_name_too_long' | 'metadata_unit_too_long' {
  if (Buffer.byteLength(e.name) > limit) return 'metadata_metric_name_too_long';
  if (Buffer.byteLength(e.unit) > limit) return 'metadata_unit_too_long';
  return 'kept';
}

describe('filterMetadataRw1 against an oracle of Mimir’s cleanAndValidateMetadata (property)', () => {
  it('drops and reports exactly what Mimir would, and forwards only the rest', () => {
    fc.assert(
      fc.property(
        fc.array(entryArb, { maxLength: 6 }),
        fc.nat(4),
        fc.integer({ min: 1, max: 9 }),
        (entries, series, limit) => {
          const decoded = body(entries, series);
          const info = scanWriteRequest(decoded, 0);
          const result = filterMetadataRw1(decoded, info.metadata, limit);
          const verdicts = entries.map((e) => oracle(e, limit));
          const first = verdicts.findIndex((v) => v !== 'kept');
          if (first < 0) {
            expect(result, 'nothing dropped: the body goes as it is').toBeUndefined();
            return;
          }
          expect(result).toBeDefined();
          expect(Array.from(result!.keep)).toEqual(verdicts.map((v) => (v === 'kept' ? 1 : 0)));
          expect(result!.dropped).toBe(verdicts.filter((v) => v !== 'kept').length);
          expect(result!.firstProblem.kind).toBe(verdicts[first]);
          expect(result!.firstProblem.metricName).toBe(entries[first]!.name);

          const forwarded = writeRequestType.toObject(
            writeRequestType.decode(
              snappy.uncompressSync(reencodeKept(decoded, 'prw1', undefined, result!.keep)) as Buffer,
            ),
            { defaults: true },
          ) as {
            timeseries: unknown[];
            metadata: { metricFamilyName: string; help: string; unit: string }[];
          };
          expect(forwarded.timeseries, 'every series still goes upstream').toHaveLength(series);
          expect(forwarded.metadata.map((m) => [m.metricFamilyName, m.help, m.unit])).toEqual(
            entries.filter((_, i) => verdicts[i] === 'kept').map((e) => [e.name, e.help, e.unit]),
          );
        },
      ),
    );
  });

  it('never refuses a long HELP: Mimir truncates it', () => {
    const decoded = body([{ name: 'm', help: 'h'.repeat(5000), unit: '' }], 1);
    expect(filterMetadataRw1(decoded, 1, 10)).toBeUndefined();
  });
});
