// The label Mimir's label-length messages name (pkg/distributor/validate.go validateLabels, as in validate_test.go
// TestValidateLabels "label name too long" / "label value too long"): the first label too long once the labels are
// sorted by name, without empty values and without drop_labels, in every format the edge reads.

import { describe, expect, it } from 'vitest';

import { labelAtFault } from '../../../src/remote-write/index.js';
import { encodeOtlpJson, encodeOtlpProto, otlpRequest } from '../../helpers/otlp-request.js';
import { encodeRw2, rw2Request } from '../../helpers/rw2-request.js';
import { encodeWriteRequest, writeRequest } from '../../helpers/write-request.js';

const labels = {
  __name__: 'up',
  zone: 'much-too-long-zone',
  job: 'much-too-long-job',
  pod: 'a-very-long-pod',
  e: '',
};

describe('labelAtFault', () => {
  const rw1 = encodeWriteRequest(writeRequest([{ labels: { __name__: 'ok' } }, { labels }]));
  const rw2 = encodeRw2(rw2Request([{ labels: { __name__: 'ok' } }, { labels }]));

  it('names the first label too long in name order (RW1, RW2), with its own length', () => {
    for (const [body, format] of [
      [rw1, 'prw1'],
      [rw2, 'prw2'],
    ] as const) {
      expect(labelAtFault(body, format, 1, 'value', 8)).toEqual({
        name: 'job',
        value: 'much-too-long-job',
        valueBytes: 17,
      });
      // Bytewise, `_` sorts before the letters.
      expect(labelAtFault(body, format, 1, 'name', 3)).toMatchObject({ name: '__name__' });
    }
  });

  it('skips the labels drop_labels names, and empty values', () => {
    expect(labelAtFault(rw1, 'prw1', 1, 'value', 8, ['job'])).toMatchObject({ name: 'pod' });
    expect(labelAtFault(rw1, 'prw1', 1, 'name', 0, [])).toMatchObject({ name: '__name__' });
    expect(labelAtFault(rw1, 'prw1', 1, 'value', 100)).toBeUndefined();
  });

  it('is undefined for a series the body does not have, or a body it cannot read', () => {
    expect(labelAtFault(rw1, 'prw1', 5, 'value', 8)).toBeUndefined();
    expect(labelAtFault(new Uint8Array([0x0a, 0xff]), 'prw1', 0, 'value', 8)).toBeUndefined();
  });

  it('reads an OTLP point as Mimir translates it (protobuf and JSON)', () => {
    const request = otlpRequest([
      {
        attributes: { 'service.name': 'api' },
        metrics: [
          { name: 'up', kind: 'gauge', points: [{ attributes: { 'k8s.pod.name': 'a-very-long-pod' } }] },
        ],
      },
    ]);
    for (const [body, format] of [
      [encodeOtlpProto(request), 'otlp-proto'],
      [encodeOtlpJson(request), 'otlp-json'],
    ] as const) {
      expect(labelAtFault(body, format, 0, 'value', 8)).toMatchObject({
        name: 'k8s_pod_name',
        value: 'a-very-long-pod',
      });
    }
  });
});
