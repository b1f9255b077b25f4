// Remote write 2.0 metadata over max_metadata_length: which series' metadata Mimir drops, and the body the edge
// forwards without it (the series stay, every other byte as sent).

import { describe, expect, it } from 'vitest';

import { filterMetadataRw2 } from '../../../src/remote-write/index.js';
import { reencodeRw2Metadata } from '../../../src/remote-write/rw2-metadata-filter.js';
import { encodeRw2, rw2Request, rw2RequestType } from '../../helpers/rw2-request.js';

const body = encodeRw2(
  rw2Request([
    {
      labels: { __name__: 'a_very_long_metric_name', job: 'x' },
      samples: 2,
      metadata: { type: 1, help: 'h' },
    },
    { labels: { __name__: 'up', job: 'x' }, metadata: { type: 2, unit: 'a_very_long_unit' } },
    { labels: { __name__: 'ok', job: 'x' }, metadata: { type: 1, unit: 'bytes' } },
    { labels: { __name__: 'plain_but_long_name', job: 'x' } },
  ]),
);

type Decoded = { timeseries: { labelsRefs: number[]; samples: unknown[]; metadata?: { type: number } }[] };

describe('remote write 2.0 metadata over max_metadata_length', () => {
  it('drops the metadata whose name or unit is too long, the name checked first', () => {
    const filtered = filterMetadataRw2(body, 4, 10)!;
    expect(Array.from(filtered.keep)).toEqual([0, 0, 1, 1]);
    expect(filtered.dropped).toBe(2);
    expect(filtered.firstProblem).toMatchObject({
      kind: 'metadata_metric_name_too_long',
      observed: 'a_very_long_metric_name'.length,
      metricName: 'a_very_long_metric_name',
    });
  });

  it('drops nothing within the limit', () => {
    expect(filterMetadataRw2(body, 4, 100)).toBeUndefined();
  });

  it('forwards every series, without the dropped metadata', () => {
    const filtered = filterMetadataRw2(body, 4, 10)!;
    const sent = rw2RequestType.toObject(
      rw2RequestType.decode(reencodeRw2Metadata(body, undefined, filtered.keep)),
    ) as Decoded;
    const original = rw2RequestType.toObject(rw2RequestType.decode(body)) as Decoded;
    expect(sent.timeseries.map((t) => t.metadata?.type)).toEqual([undefined, undefined, 1, undefined]);
    expect(sent.timeseries.map((t) => t.labelsRefs)).toEqual(original.timeseries.map((t) => t.labelsRefs));
    expect(sent.timeseries[0]!.samples).toEqual(original.timeseries[0]!.samples);
  });

  it('leaves out refused series as well', () => {
    const filtered = filterMetadataRw2(body, 4, 10)!;
    const sent = rw2RequestType.decode(
      reencodeRw2Metadata(body, Uint8Array.from([1, 0, 1, 1]), filtered.keep),
    ) as unknown as Decoded;
    expect(sent.timeseries).toHaveLength(3);
  });
});
