// The remote-write part's one public entry: format selection, bounded decompression, the RW1, RW2 and OTLP
// scanners and series rendering. Other parts import from here only, never from the files behind it, and nothing
// here may keep state between requests beyond reused scratch buffers.

export { BodyDecodeError, isBodyDecodeError } from './errors.js';
export type { BodyDecodeErrorCode } from './errors.js';
export { decompressSnappyBlock, snappyUncompressedLength } from './snappy-block.js';
export { gunzipBounded } from './gzip-bounded.js';
export { scanWriteRequest } from './rw1-scanner.js';
export { scanWriteRequestV2 } from './rw2-scanner.js';
export { describeSeriesV2 } from './rw2-describe-series.js';
export { scanOtlpProto, describeOtlpSeries } from './otlp-proto-scanner.js';
export { scanOtlpJson, describeOtlpJsonSeries } from './otlp-json-scanner.js';
export {
  describeOtlpSeriesWithout,
  otlpFirstSeriesLabels,
  otlpLabelExtremes,
  otlpLabelName,
} from './otlp-series-labels.js';
export { describeSeries, MAX_DESCRIBED_RUNES } from './describe-series.js';
export { isOtlpPath, isUnsupportedMediaType, measureBody, selectDecoder } from './format.js';
export type { BodyDecoder, BodyEncoding, MeasuredBody, UnsupportedMediaType } from './format.js';
export { ingestionCost } from './request-info.js';
export { duplicateSamples } from './duplicate-samples.js';
export { keptExemplars } from './exemplar-filter.js';
export type { RequestInfo, WriteFormat } from './request-info.js';
export {
  filterMetadataRw1,
  filterSeries,
  firstSeriesLabels,
  fittingPrefix,
  reencodeKept,
} from './series-filter.js';
export type {
  FilteredMetadata,
  FilteredSeries,
  FirstSeriesLabels,
  FittingPrefix,
  MetadataProblem,
  MetadataProblemKind,
  SeriesProblem,
  SeriesProblemKind,
  SeriesRules,
} from './series-filter.js';
