// The remote-write part's one public entry: format selection, bounded decompression, the RW1, RW2 and OTLP
// scanners and series rendering. Other parts import from here only, never from the files behind it, and nothing
// here may keep state between requests beyond reused scratch buffers.

export { BodyDecodeError } from './errors.js';
export { decompressSnappyBlock, snappyUncompressedLength } from './snappy-block.js';
export { gunzipBounded } from './gzip-bounded.js';
export { scanWriteRequest } from './rw1-scanner.js';
export { scanWriteRequestV2 } from './rw2-scanner.js';
export { describeSeriesV2 } from './rw2-describe-series.js';
export { scanOtlpProto, describeOtlpSeries } from './otlp-proto-scanner.js';
export { scanOtlpJson } from './otlp-json-scanner.js';
export { describeOtlpJsonSeries } from './otlp-json-describe-series.js';
export { describeOtlpSeriesWithout, otlpLabelExtremes, otlpLabelName } from './otlp-series-labels.js';
export { addsSuffixes, otlpNameSuffixBound } from './otlp-metric-name.js';
export type { OtelTranslation } from './otlp-metric-name.js';
export { filterOtlp } from './otlp-series-filter.js';
export { keptOtlpExemplars } from './otlp-exemplars.js';
export type { OtlpSeriesProblem } from './otlp-series-filter.js';
export { otlpPointTimes } from './otlp-point-time-verdicts.js';
export { describeSeries } from './describe-series.js';
export { isUnsupportedMediaType, measureBody, selectDecoder } from './format.js';
export type { BodyDecoder, MeasuredBody } from './format.js';
export { ingestionCost } from './request-info.js';
export { duplicateSamples } from './duplicate-samples.js';
export { duplicateHistograms } from './duplicate-histograms.js';
export { SAMPLE_KEY_MS, sampleTimeVerdicts } from './sample-times.js';
export type { HistogramRules } from './sample-times.js';
export { keptExemplars } from './exemplar-filter.js';
export type { RequestInfo } from './request-info.js';
export { filterSeries, reencodeKept } from './series-filter.js';
export type {
  FilteredSeries,
  NameScheme,
  SeriesProblem,
  SeriesProblemKind,
  SeriesRules,
} from './series-filter.js';
export { filterMetadataRw1 } from './metadata-filter.js';
export { filterMetadataRw2 } from './rw2-metadata-filter.js';
export type { FilteredMetadata, MetadataProblem } from './metadata-filter.js';
export { firstSeriesLabels } from './first-series-labels.js';
export { fittingPrefix } from './fitting-prefix.js';
export { labelAtFault } from './label-at-fault.js';
export type { FaultyLabel, LabelPart } from './label-at-fault.js';
export type { FittingPrefix } from './fitting-prefix.js';
