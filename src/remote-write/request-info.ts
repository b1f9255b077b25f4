// What the edge learns about one write request, measured the way Mimir counts it.
// Produced by a scanner without building per-series objects; consumed by decide().

export type WriteFormat = 'prw1' | 'prw2' | 'otlp-proto' | 'otlp-json';

/** Measurements of one write request. Counts follow Mimir: every sample of every series, not series. */
export interface RequestInfo extends LabelExtremes {
  format: WriteFormat;
  /**
   * OTLP: at least the bytes of the longest metric unit, when a metric has one (absent otherwise): what bounds the
   * unit suffix Mimir's suffixing translation strategies add to `__name__` (otlpNameSuffixBound).
   */
  maxUnitBytes?: number;
  /** Number of time series (RW1/RW2 `timeseries` entries; for OTLP, the series Mimir's translation creates per point). */
  series: number;
  /** Float samples across all series. */
  floatSamples: number;
  /** Native histogram samples across all series. */
  histogramSamples: number;
  exemplars: number;
  /** Metadata entries (RW1 `metadata`; RW2 series metadata setting a type, help or unit; OTLP one per metric name). */
  metadata: number;
  /** Most exemplars carried by one series (RW1 and RW2 only): an exemplar cap below it needs a per-series count. */
  maxExemplarsPerSeries?: number;
  /**
   * RW1 and RW2: some series has two samples whose timestamps do not increase, so it may repeat a timestamp,
   * which Mimir keeps once (duplicateSamples counts them exactly). False or absent: no sample is a duplicate.
   */
  samplesOutOfOrder?: boolean;
  /**
   * RW1 and RW2: the smallest and largest sample-time key of the float samples (timestamp / 2^14, see
   * sampleTimeKey), bounds for creation_grace_period and past_grace_period; a smallest key of -1 means some
   * timestamp could not be read in the scan. Absent when there is no float sample.
   */
  minSampleTimeKey?: number;
  maxSampleTimeKey?: number;
  /** RW2: some symbol is not ASCII, so a name or value may fail Mimir's name or UTF-8 checks. */
  nonAsciiSymbols?: boolean;
  /** Body size on the wire and after decompression. */
  bytesCompressed: number;
  bytesUncompressed: number;
}

/** Cost charged against `ingestion_rate`: samples + histogram samples + exemplars + metadata (as Mimir). */
export function ingestionCost(info: RequestInfo): number {
  return info.floatSamples + info.histogramSamples + info.exemplars + info.metadata;
}

/** The label extremes of a request: part of RequestInfo, and what the exact passes (drop_labels, HA) recount. */
export interface LabelExtremes {
  /** Largest number of labels of any one series. */
  maxLabelNames: number;
  /** Index of the series with the most labels (-1 when there are no series); for OTLP, a point ordinal. */
  maxLabelNamesSeries: number;
  /** Longest label name in bytes, and the series it belongs to. */
  maxLabelNameLength: number;
  maxLabelNameSeries: number;
  /** Longest label value in bytes, and the series it belongs to. */
  maxLabelValueLength: number;
  maxLabelValueSeries: number;
}

/** Extremes before any series: every maximum 0, every series -1 (none). */
export function noExtremes(): LabelExtremes {
  return {
    maxLabelNames: 0,
    maxLabelNamesSeries: -1,
    maxLabelNameLength: 0,
    maxLabelNameSeries: -1,
    maxLabelValueLength: 0,
    maxLabelValueSeries: -1,
  };
}

/**
 * Folds one series into `x`: a larger value, or the first series seen, takes the maximum. (The one-pass scanners
 * keep their maxima in fields of their own.)
 */
export function observeExtremes(
  x: LabelExtremes,
  series: number,
  labels: number,
  nameLength: number,
  valueLength: number,
): void {
  if (labels > x.maxLabelNames || x.maxLabelNamesSeries < 0) {
    x.maxLabelNames = labels;
    x.maxLabelNamesSeries = series;
  }
  if (nameLength > x.maxLabelNameLength || x.maxLabelNameSeries < 0) {
    x.maxLabelNameLength = nameLength;
    x.maxLabelNameSeries = series;
  }
  if (valueLength > x.maxLabelValueLength || x.maxLabelValueSeries < 0) {
    x.maxLabelValueLength = valueLength;
    x.maxLabelValueSeries = series;
  }
}
