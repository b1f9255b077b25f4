// Mimir's cleanAndValidateMetadata over an RW1 body's metadata: which entries it drops for a metric name or unit
// over max_metadata_length, and the first one, worded. Runs only when the scan found an entry over the limit.

import { ProtoReader, WIRE_LENGTH_DELIMITED, makeTag } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import { TAG_METADATA, utf8 } from './rw-series-fields.js';

// RW1 MetricMetadata: MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5;
const TAG_METADATA_NAME = makeTag(2, WIRE_LENGTH_DELIMITED);
const TAG_METADATA_UNIT = makeTag(5, WIRE_LENGTH_DELIMITED);

export type MetadataProblemKind =
  'metadata_missing_metric_name' | 'metadata_metric_name_too_long' | 'metadata_unit_too_long';

/** Why Mimir drops one metadata entry: its metric name or its unit is over max_metadata_length. */
export interface MetadataProblem {
  kind: MetadataProblemKind;
  observed: number;
  limit: number;
  metricName: string;
  unit: string;
}

export interface FilteredMetadata {
  /** 1 for each metadata entry Mimir keeps, 0 for each it drops, in body order. */
  keep: Uint8Array;
  dropped: number;
  /** The first dropped entry, in body order. */
  firstProblem: MetadataProblem;
}

/**
 * Mimir's cleanAndValidateMetadata over the metadata of a decompressed RW1 body: with `enforceName`
 * (enforce_metadata_metric_name), an entry without a metric name is dropped with an error first; then one whose
 * metric name or unit is longer than `maxLength` bytes (0: unlimited; the name is checked first). A long HELP is
 * only truncated by Mimir, so it neither drops nor costs anything here. Returns undefined when nothing is
 * dropped. Series are skipped by length, never descended.
 */
export function filterMetadataRw1(
  buf: Uint8Array,
  metadataCount: number,
  maxLength: number,
  enforceName = false,
): FilteredMetadata | undefined {
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let keep: Uint8Array | undefined;
  let dropped = 0;
  let firstProblem: MetadataProblem | undefined;
  let index = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_METADATA) {
      reader.skip(tag, end);
      continue;
    }
    const entryEnd = reader.messageEnd(end);
    const entry = index++;
    // Proto3 keeps the last occurrence of a scalar field, as Mimir's decoder does.
    let nameStart = 0;
    let nameLength = 0;
    let unitStart = 0;
    let unitLength = 0;
    while (reader.pos < entryEnd) {
      const fieldTag = reader.tag(entryEnd);
      if (fieldTag === TAG_METADATA_NAME) {
        nameLength = reader.length(entryEnd);
        nameStart = reader.pos;
        reader.pos += nameLength;
      } else if (fieldTag === TAG_METADATA_UNIT) {
        unitLength = reader.length(entryEnd);
        unitStart = reader.pos;
        reader.pos += unitLength;
      } else {
        reader.skip(fieldTag, entryEnd);
      }
    }
    const over = (length: number): boolean => maxLength > 0 && length > maxLength;
    const kind: MetadataProblemKind | undefined =
      enforceName && nameLength === 0
        ? 'metadata_missing_metric_name'
        : over(nameLength)
          ? 'metadata_metric_name_too_long'
          : over(unitLength)
            ? 'metadata_unit_too_long'
            : undefined;
    if (!kind) continue;
    if (!keep) keep = new Uint8Array(metadataCount).fill(1);
    keep[entry] = 0;
    dropped++;
    firstProblem ??= {
      kind,
      observed: kind === 'metadata_unit_too_long' ? unitLength : nameLength,
      limit: maxLength,
      metricName: utf8(buf, nameStart, nameLength),
      unit: utf8(buf, unitStart, unitLength),
    };
  }
  return keep && firstProblem ? { keep, dropped, firstProblem } : undefined;
}
