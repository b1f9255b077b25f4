// The rule that keeps a body in the format its Content-Type names: a field at the top level of the request
// message that the named format does not define is refused, never skipped. Every format the edge reads keeps its
// items (series, samples, resource metrics) in top-level fields, and the formats share field numbers with other
// meanings (RW1's timeseries and metadata are RW2's reserved 1 and 3; RW2's symbols and timeseries are 4 and 5,
// which RW1 does not define; OTLP's resource_metrics is 1). Skipping a foreign top-level field as "unknown" is
// how a remote write 1.0 body labelled 2.0 was measured as zero items and forwarded. Nested messages keep proto3's
// rule (unknown fields skipped), with reserved numbers and wrong wire types refused by each scanner.
// Shared by the scanners and their reference oracles (test/helpers/*-scan-reference.ts), so both refuse alike.

import { invalidProtobuf } from './errors.js';
import { WIRE_LENGTH_DELIMITED, WIRE_VARINT, makeTag } from '../wire/protobuf-reader.js';

/** RW1 (prometheus.WriteRequest) top-level fields besides timeseries = 1 and metadata = 3, both length-delimited. */
// Mimir's own WriteRequest defines `SourceEnum source = 2` (Prometheus reserves 2 for it) and
// `bool skip_label_name_validation = 1000`; both are varints and carry no items.
export const RW1_TAG_SOURCE = makeTag(2, WIRE_VARINT);
export const RW1_TAG_SKIP_LABEL_NAME_VALIDATION = makeTag(1000, WIRE_VARINT);

/**
 * The error for a top-level field `tag` at `offset` that `message` does not define: the body is some other
 * message than its Content-Type names (a 400 `invalid_body`, not a body with nothing in it).
 */
export function foreignTopLevelField(tag: number, message: string, offset: number): Error {
  const field = tag >>> 3;
  const wire = tag & 7;
  const shape = wire === WIRE_LENGTH_DELIMITED ? 'length-delimited' : `wire type ${wire}`;
  return invalidProtobuf(
    `field ${field} (${shape}) is not a field of ${message}; the body does not match its Content-Type`,
    offset,
  );
}

export const RW1_MESSAGE_NAME = 'prometheus.WriteRequest (remote write 1.0)';
export const RW2_MESSAGE_NAME = 'io.prometheus.write.v2.Request (remote write 2.0)';
export const OTLP_MESSAGE_NAME = 'ExportMetricsServiceRequest (OTLP)';
