// The measured write the aggregation benchmarks record for every tenant: a typical Prometheus request of 500
// series with one sample each, as the scanner describes it.

import type { RequestInfo } from '../../src/remote-write/request-info.js';

export const TYPICAL_WRITE: RequestInfo = {
  format: 'prw1',
  series: 500,
  floatSamples: 500,
  histogramSamples: 0,
  exemplars: 0,
  metadata: 0,
  maxLabelNames: 12,
  maxLabelNamesSeries: 0,
  maxLabelNameLength: 10,
  maxLabelNameSeries: 0,
  maxLabelValueLength: 30,
  maxLabelValueSeries: 0,
  bytesCompressed: 20_000,
  bytesUncompressed: 80_000,
};
