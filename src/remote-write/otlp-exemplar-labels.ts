// What Mimir's OTLP translation (prometheusremotewrite getPromExemplars) makes of an exemplar, for the exemplar
// rules both OTLP readers share (otlp-exemplars.ts for protobuf, otlp-json-exemplars.ts for JSON).

import { EXEMPLAR_MAX_LABEL_SET_LENGTH } from './exemplar-filter.js';

/** `trace_id` and `span_id` with their hex values (16 and 8 bytes): the characters each adds to the label set. */
const TRACE_ID_RUNES = 'trace_id'.length + 32;
const SPAN_ID_RUNES = 'span_id'.length + 16;

/** One exemplar as the translation leaves it: what the distributor's rules read. */
export interface OtlpExemplar {
  ms: number;
  value: number;
  /** Labels it has, and whether one has a name and a value (Mimir drops one whose labels are all blank). */
  labels: number;
  validLabel: boolean;
}

/** A data point's exemplars, with what places them in series. */
export interface PointExemplars {
  ordinal: number;
  /** The series key of the point (resource, metric name, attributes); classic histograms add the bucket. */
  key: string;
  bounds: number[] | undefined;
  exemplars: OtlpExemplar[];
}

/** What the exemplar rules read of a request: its point ordinals, every point's time, the exemplars. */
export interface OtlpPoints {
  ordinals: number;
  times: number[];
  withExemplars: PointExemplars[];
}

/**
 * An exemplar as translated: `trace_id` and `span_id` labels for IDs that are not empty, and the filtered
 * attributes (`attributes` of them, `attributeRunes` characters in names and values) only when the whole set
 * stays within 128 characters.
 */
export function translatedExemplar(
  ms: number,
  value: number,
  trace: boolean,
  span: boolean,
  attributes: number,
  attributeRunes: number,
  validAttribute: boolean,
): OtlpExemplar {
  const idRunes = (trace ? TRACE_ID_RUNES : 0) + (span ? SPAN_ID_RUNES : 0);
  const withAttributes = idRunes + attributeRunes <= EXEMPLAR_MAX_LABEL_SET_LENGTH;
  const ids = (trace ? 1 : 0) + (span ? 1 : 0);
  return {
    ms,
    value,
    labels: ids + (withAttributes ? attributes : 0),
    validLabel: ids > 0 || (withAttributes && validAttribute),
  };
}
