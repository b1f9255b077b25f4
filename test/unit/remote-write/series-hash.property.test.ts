// One series must count once, whichever way it is sent: the series hash is a function of the label set only, the
// same in RW1 (labels in any order, short or long values) and RW2 (symbol references); two different label sets
// must not share a hash; and the metric name handed along is the series' __name__.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashSeries } from '../../../src/remote-write/series-hash.js';
import type { SeriesHashSink } from '../../../src/remote-write/series-hash.js';
import { encodeWriteRequest, writeRequest } from '../../helpers/write-request.js';
import { encodeRw2, rw2Request } from '../../helpers/rw2-request.js';
import { encodeOtlpJson, encodeOtlpProto, otlpRequest } from '../../helpers/otlp-request.js';

interface Hashed {
  hash: string;
  name: string;
}

function collect(buf: Uint8Array, format: 'prw1' | 'prw2' | 'otlp-proto' | 'otlp-json'): Hashed[] {
  const out: Hashed[] = [];
  const decoder = new TextDecoder();
  const sink: SeriesHashSink = {
    series(hi, lo, name, start, length) {
      out.push({
        hash: `${hi.toString(16)}:${lo.toString(16)}`,
        name: decoder.decode(name.subarray(start, start + length)),
      });
    },
  };
  expect(hashSeries(buf, format, sink)).toBe(out.length);
  return out;
}

const labelName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/).filter((n) => n !== '__name__');
// Values up to 300 characters: lengths of 128 and more take the varint path in both encodings.
const labelValue = fc.string({ unit: 'grapheme', maxLength: 300 });
const labelSet = fc
  .tuple(
    fc.stringMatching(/^[a-z_][a-z0-9_]{0,30}$/),
    fc.uniqueArray(fc.tuple(labelName, labelValue), { selector: ([n]) => n, maxLength: 12 }),
  )
  .map(([metric, labels]) => ({ __name__: metric, ...Object.fromEntries(labels) }) as Record<string, string>);

function shuffled(labels: Record<string, string>, seed: number): Record<string, string> {
  const entries = Object.entries(labels);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = (seed * (i + 7)) % (i + 1);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries);
}

describe('series hash', () => {
  it('is the same for a label set in RW1 (any label order) and RW2, and names the metric', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(labelSet, { selector: (l) => JSON.stringify(l), minLength: 1, maxLength: 20 }),
        fc.nat(),
        (sets, seed) => {
          const rw1 = collect(encodeWriteRequest(writeRequest(sets.map((labels) => ({ labels })))), 'prw1');
          const reordered = collect(
            encodeWriteRequest(writeRequest(sets.map((labels) => ({ labels: shuffled(labels, seed) })))),
            'prw1',
          );
          const rw2 = collect(encodeRw2(rw2Request(sets.map((labels) => ({ labels, samples: 1 })))), 'prw2');
          expect(reordered).toEqual(rw1);
          expect(rw2).toEqual(rw1);
          expect(rw1.map((h) => h.name)).toEqual(sets.map((l) => l.__name__));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('hashes a label written in another field order as its canonical encoding', () => {
    // Label { value = 2; name = 1 }: valid protobuf, not what senders write; the same label as the canonical form.
    const canonical = encodeWriteRequest(writeRequest([{ labels: { __name__: 'up', job: 'a' } }]));
    const swapped = Buffer.from([
      ...[0x0a, 0x1a], // TimeSeries, 26 bytes
      ...[0x0a, 0x0e, 0x12, 0x02, 0x75, 0x70, 0x0a, 0x08, ...Buffer.from('__name__')], // value "up" before name
      ...[0x0a, 0x08, 0x0a, 0x03, ...Buffer.from('job'), 0x12, 0x01, 0x61], // job="a"
    ]);
    expect(collect(swapped, 'prw1')[0]!.hash).toBe(collect(canonical, 'prw1')[0]!.hash);
  });

  it('gives different label sets different hashes (100,000 series differing in one value or one name)', () => {
    const series = [];
    for (let i = 0; i < 50_000; i++) {
      series.push({ labels: { __name__: 'up', pod: `api-${i}`, job: 'api' } });
      series.push({ labels: { __name__: 'up', [`pod_${i}`]: 'api', job: 'api' } });
    }
    const hashes = collect(encodeWriteRequest(writeRequest(series)), 'prw1').map((h) => h.hash);
    expect(new Set(hashes).size).toBe(100_000);
  });

  it('does not confuse a name with a value: {a="b"} and {b="a"} differ', () => {
    const [x, y] = collect(
      encodeWriteRequest(writeRequest([{ labels: { a: 'b' } }, { labels: { b: 'a' } }])),
      'prw1',
    );
    expect(x!.hash).not.toBe(y!.hash);
  });

  it('hashes OTLP points the same in protobuf and JSON, one per point, with the metric name', () => {
    const request = otlpRequest([
      {
        attributes: { 'service.name': 'api', 'k8s.pod.name': 'p1' },
        metrics: [
          {
            name: 'requests',
            kind: 'gauge',
            points: [{ attributes: { 'http.method': 'GET' } }, { attributes: { 'http.method': 'PUT' } }],
          },
        ],
      },
    ]);
    const proto = collect(encodeOtlpProto(request), 'otlp-proto');
    const json = collect(encodeOtlpJson(request), 'otlp-json');
    expect(proto.filter((h) => h.name === 'requests')).toHaveLength(2);
    expect(json).toEqual(proto);
    expect(new Set(proto.map((h) => h.hash)).size).toBe(proto.length);
  });
});
