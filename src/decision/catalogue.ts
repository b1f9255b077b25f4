// The catalogue every denial goes through: one stable err-mimir-* id and status per reason, and messages
// worded like Mimir's own errors (limit, its value, what was observed, how to change it) so runbooks still apply.

import type { Decision, DecisionReason } from './decision.js';

export interface ReasonInfo {
  status: number;
  errorId: string;
  /** The Mimir flag (or edge setting) that changes the limit, quoted in the message. */
  knob: string;
}

export const REASONS: Readonly<Record<Exclude<DecisionReason, 'allowed'>, ReasonInfo>> = {
  missing_tenant: { status: 401, errorId: 'err-mimir-edge-missing-tenant', knob: 'TENANT_HEADER' },
  // 401 as Mimir 2.12+ answers any tenant id dskit's tenant.TenantIDs refuses (its tenant validation middleware).
  invalid_tenant: { status: 401, errorId: 'err-mimir-edge-invalid-tenant', knob: '' },
  tenant_mismatch: { status: 403, errorId: 'err-mimir-edge-tenant-mismatch', knob: 'TENANT_FROM_BASIC_AUTH' },
  body_too_large: {
    status: 413,
    errorId: 'err-mimir-distributor-max-write-message-size',
    knob: 'max_body_bytes',
  },
  invalid_body: { status: 400, errorId: 'err-mimir-edge-invalid-body', knob: '' },
  unsupported_media_type: { status: 415, errorId: 'err-mimir-edge-unsupported-media-type', knob: '' },
  max_series_per_request: {
    status: 400,
    errorId: 'err-mimir-edge-max-series-per-request',
    knob: 'max_series_per_request',
  },
  max_label_names_per_series: {
    status: 400,
    errorId: 'err-mimir-max-label-names-per-series',
    knob: '-validation.max-label-names-per-series',
  },
  max_label_names_per_info_series: {
    status: 400,
    errorId: 'err-mimir-max-label-names-per-info-series',
    knob: '-validation.max-label-names-per-info-series',
  },
  max_label_name_length: {
    status: 400,
    errorId: 'err-mimir-label-name-too-long',
    knob: '-validation.max-length-label-name',
  },
  max_label_value_length: {
    status: 400,
    errorId: 'err-mimir-label-value-too-long',
    knob: '-validation.max-length-label-value',
  },
  // Mimir's validateLabels and validateSample (pkg/distributor/validate.go), in the order it checks a series.
  missing_metric_name: { status: 400, errorId: 'err-mimir-missing-metric-name', knob: '' },
  metric_name_invalid: { status: 400, errorId: 'err-mimir-metric-name-invalid', knob: '' },
  label_invalid: { status: 400, errorId: 'err-mimir-label-invalid', knob: '' },
  label_value_invalid: { status: 400, errorId: 'err-mimir-label-value-invalid', knob: '' },
  duplicate_label_names: { status: 400, errorId: 'err-mimir-duplicate-label-names', knob: '' },
  sample_too_far_in_future: {
    status: 400,
    errorId: 'err-mimir-too-far-in-future',
    knob: '-validation.create-grace-period',
  },
  sample_too_far_in_past: {
    status: 400,
    errorId: 'err-mimir-too-far-in-past',
    knob: '-validation.past-grace-period',
  },
  histogram_schema_invalid: { status: 400, errorId: 'err-mimir-invalid-native-histogram-schema', knob: '' },
  max_native_histogram_buckets: { status: 400, errorId: 'err-mimir-max-native-histogram-buckets', knob: '' },
  histogram_not_reducible: { status: 400, errorId: 'err-mimir-not-reducible-native-histogram', knob: '' },
  metadata_missing_metric_name: { status: 400, errorId: 'err-mimir-metadata-missing-metric-name', knob: '' },
  metadata_metric_name_too_long: {
    status: 400,
    errorId: 'err-mimir-metric-name-too-long',
    knob: '-validation.max-metadata-length',
  },
  metadata_unit_too_long: {
    status: 400,
    errorId: 'err-mimir-unit-too-long',
    knob: '-validation.max-metadata-length',
  },
  request_rate: {
    status: 429,
    errorId: 'err-mimir-tenant-max-request-rate',
    knob: '-distributor.request-rate-limit and -distributor.request-burst-size',
  },
  max_series_per_user: {
    status: 400,
    errorId: 'err-mimir-max-series-per-user',
    knob: '-ingester.max-global-series-per-user',
  },
  internal_error: { status: 500, errorId: 'err-mimir-edge-internal', knob: '' },
  // Mimir answers a deduplicated write 202 without an error id; the edge's id names it in logs and the docs.
  ha_deduplicated: { status: 202, errorId: 'err-mimir-edge-ha-deduplicated', knob: '' },
  ha_too_many_clusters: {
    status: 400,
    errorId: 'err-mimir-tenant-too-many-ha-clusters',
    knob: '-distributor.ha-tracker.max-clusters',
  },
  ingestion_rate: {
    status: 429,
    errorId: 'err-mimir-tenant-max-ingestion-rate',
    knob: '-distributor.ingestion-rate-limit and -distributor.ingestion-burst-size',
  },
  // The edge's own: a 429, never a 5xx, so senders back off and retry (docs/protection.md).
  upstream_overloaded: { status: 429, errorId: 'err-mimir-edge-upstream-overloaded', knob: 'edge_priority' },
};

const ADJUST = (knob: string): string =>
  knob
    ? ` To adjust the related per-tenant limit, configure ${knob}, or contact your service administrator.`
    : '';

/**
 * Mimir's message for a series over a label limit (pkg/distributor/validate.go tooManyLabelsMsgFormat,
 * tooManyInfoLabelsMsgFormat, labelNameTooLongMsgFormat, labelValueTooLongMsgFormat; for an OTLP request a value too
 * long as pkg/distributor/otel.go otelAttributeValueTooLongError rewords it). `series` is the series as
 * describeSeries() prints it (`series: '…'`, an ellipsis after 200 code points); `label` the label too long (a
 * name or value limit), '' where it could not be read.
 */
export function seriesLimitMessage(
  reason:
    | 'max_label_names_per_series'
    | 'max_label_names_per_info_series'
    | 'max_label_name_length'
    | 'max_label_value_length',
  observed: number,
  limit: number,
  series: string,
  label?: { name: string; value: string },
  /** An OTLP request: Mimir's OTLP handler words a value too long in OTel terms (otelAttributeValueTooLongError). */
  otlp = false,
): string {
  const info = REASONS[reason];
  if (reason === 'max_label_value_length' && otlp) {
    return `received a metric whose attribute value length of ${observed} exceeds the limit of ${limit}, attribute: '${label?.name ?? ''}', value: '${shown200(label?.value ?? '')}' (truncated) metric: '${withoutEllipsis(series)}'. See: ${OTLP_LIMITS_DOC}`;
  }
  const tail = ` (${info.errorId}).${ADJUST(info.knob)}`;
  if (reason === 'max_label_name_length') {
    // Here Mimir cuts the series at 200 characters with `%.200s`, without an ellipsis.
    return `received a series whose label name length exceeds the limit, label: '${shown200(label?.name ?? '')}' series: '${withoutEllipsis(series)}'${tail}`;
  }
  if (reason === 'max_label_value_length') {
    return `received a series whose label value length of ${observed} exceeds the limit of ${limit}, label: '${label?.name ?? ''}', value: '${shown200(label?.value ?? '')}' (truncated) series: '${withoutEllipsis(series)}'${tail}`;
  }
  const kind = reason === 'max_label_names_per_info_series' ? 'an info series' : 'a series';
  return `received ${kind} whose number of labels exceeds the limit (actual: ${observed}, limit: ${limit}) ${series}${tail}`;
}

/** The page Mimir's OTLP attribute-value message points to. */
const OTLP_LIMITS_DOC =
  'https://grafana.com/docs/grafana-cloud/send-data/otlp/otlp-format-considerations/#metrics-ingestion-limits';

/** describeSeries()'s label set (`series: '…'`) bare and cut at 200 code points without the ellipsis it added. */
function withoutEllipsis(described: string): string {
  const bare =
    described.startsWith("series: '") && described.endsWith("'") ? described.slice(9, -1) : described;
  const points = [...bare];
  return points.length > 200 ? points.slice(0, 200).join('') : bare;
}

/** Mimir prints at most 200 characters of each name, value or series it quotes (Go's `%.200s`). */
const shown200 = (s: string): string => [...s].slice(0, 200).join('');

/** Mimir's removeNonASCIIChars: the metric name without its non-ASCII characters, saying so when it removed any. */
function asciiOnly(text: string): string {
  // eslint-disable-next-line no-control-regex
  const kept = text.replace(/[^\x00-\x7f]/gu, '');
  return kept === text ? text : `${kept} (non-ascii characters removed)`;
}

/**
 * Go's strings.ToValidUTF8(s, "\uFFFD") replaces each run of invalid bytes with one U+FFFD; the text here was
 * decoded with one U+FFFD per invalid sequence, so runs of them become one.
 */
function oneReplacementPerRun(text: string): string {
  return text.replace(/\uFFFD+/gu, '\uFFFD');
}

/**
 * Mimir's message for a series its name and label validation refuses. `label` is the label at fault (none for
 * a missing or invalid metric name), `value` its value (label_value_invalid), `series` the series as Mimir
 * prints it and `metricName` its metric name.
 */
export function seriesValidationMessage(
  reason:
    | 'missing_metric_name'
    | 'metric_name_invalid'
    | 'label_invalid'
    | 'label_value_invalid'
    | 'duplicate_label_names',
  label: string,
  value: string,
  series: string,
  metricName: string,
): string {
  const id = REASONS[reason].errorId;
  switch (reason) {
    case 'missing_metric_name':
      return `received series has no metric name (${id})`;
    case 'metric_name_invalid':
      return `received a series with invalid metric name: '${shown200(asciiOnly(metricName))}' (${id})`;
    case 'label_invalid':
      return `received a series with an invalid label: '${shown200(label)}' series: '${shown200(series)}' (${id})`;
    case 'label_value_invalid':
      return `received a series with invalid value in label '${shown200(label)}': '${shown200(oneReplacementPerRun(value))}' metric: '${shown200(metricName)}' (${id})`;
    case 'duplicate_label_names':
      return `received a series with duplicate label name, label: '${shown200(label)}' series: '${shown200(series)}' (${id})`;
  }
}

/** Mimir's message for a series refused for a sample's time; it names the series by its metric name. */
export function sampleTimeMessage(
  reason: 'sample_too_far_in_future' | 'sample_too_far_in_past',
  timestamp: number,
  metricName: string,
): string {
  const info = REASONS[reason];
  const where = reason === 'sample_too_far_in_future' ? 'future' : 'past';
  return `received a sample whose timestamp is too far in the ${where}, timestamp: ${timestamp} series: '${shown200(metricName)}' (${info.errorId}).${ADJUST(info.knob)}`;
}

/** Mimir's message for a series refused for one of its native histogram samples. */
export function histogramMessage(
  reason: 'histogram_schema_invalid' | 'max_native_histogram_buckets' | 'histogram_not_reducible',
  timestamp: number,
  series: string,
  observed: number,
  limit: number,
): string {
  const id = REASONS[reason].errorId;
  if (reason === 'histogram_schema_invalid') {
    return `received a native histogram sample with an invalid schema: ${observed} (${id})`;
  }
  const how =
    reason === 'histogram_not_reducible' ? 'too many buckets and cannot reduce' : 'too many buckets';
  return `received a native histogram sample with ${how}, timestamp: ${timestamp} series: ${series}, buckets: ${observed}, limit: ${limit} (${id})`;
}

/**
 * Mimir's message for metadata it drops for a metric name or unit over max_metadata_length
 * (pkg/distributor/validate.go metadataMetricNameTooLongMsgFormat, metadataUnitTooLongMsgFormat): the name and
 * unit cut at 200 characters, without an ellipsis. `observed` and `limit` go on the decision, not in the text.
 */
export function metadataLimitMessage(
  reason: 'metadata_metric_name_too_long' | 'metadata_unit_too_long',
  _observed: number,
  _limit: number,
  metricName: string,
  unit: string,
): string {
  const info = REASONS[reason];
  const what =
    reason === 'metadata_unit_too_long'
      ? `unit name length exceeds the limit, unit: '${shown200(unit)}' metric name: '${shown200(metricName)}'`
      : `metric name length exceeds the limit, metric name: '${shown200(metricName)}'`;
  return `received a metric metadata whose ${what} (${info.errorId}).${ADJUST(info.knob)}`;
}

export function rateLimitMessage(
  reason: 'request_rate' | 'ingestion_rate',
  rate: number,
  burst: number,
  cost: number,
): string {
  const info = REASONS[reason];
  if (reason === 'request_rate') {
    return `the request has been rejected because the tenant exceeded the request rate limit, set to ${rate} requests/s across all distributors with a maximum allowed burst of ${burst} (${info.errorId}).${ADJUST(info.knob)}`;
  }
  const never =
    cost > burst
      ? ` This request carries ${cost} items, more than the burst, so it can never be accepted: split it into smaller requests.`
      : '';
  return `the request has been rejected because the tenant exceeded the ingestion rate limit, set to ${rate} items/s with a maximum allowed burst of ${burst}; this request carries ${cost} items. This limit is applied on the total number of samples, exemplars and metadata received across all distributors (${info.errorId}).${never}${ADJUST(info.knob)}`;
}

/**
 * The 429 owed after selective filtering forwarded part of a request: what went now, how much of the request
 * has been delivered, and that the retry of the same request sends only the rest.
 */
export function selectiveFilterMessage(
  rate: number,
  burst: number,
  cost: number,
  forwardedSeries: number,
  forwardedItems: number,
  deliveredSeries: number,
  series: number,
): string {
  const info = REASONS.ingestion_rate;
  return `the tenant exceeded the ingestion rate limit, set to ${rate} items/s with a maximum allowed burst of ${burst}; this request carries ${cost} items not yet delivered, so ${forwardedSeries} of its series (${forwardedItems} items) were forwarded, ${deliveredSeries} of ${series} so far. Retry the same request: the series already delivered are not sent again (${info.errorId}).${ADJUST(info.knob)}`;
}

/**
 * The 429 of adaptive protection: the upstream is degraded, and writes of this tenant's priority are shed until
 * it recovers.
 */
export function upstreamOverloadedMessage(
  priority: number,
  inflight: number,
  admitted: number,
  ceiling: number,
): string {
  const info = REASONS.upstream_overloaded;
  return `the upstream is degraded and the edge is shedding load: writes of priority ${priority} are admitted while fewer than ${admitted} writes of priority ${priority} or higher are in flight, and ${inflight} are (adaptive ceiling ${ceiling}); retry later (${info.errorId}). Tenants with a higher ${info.knob} are shed later.`;
}

/**
 * Mimir's ingester text for a series over max_global_series_per_user, and what the edge did: how many new series
 * of the request it refused while the known ones went on.
 */
export function maxSeriesPerUserMessage(
  limit: number,
  activeSeries: number,
  refused: number,
  series: number,
): string {
  const info = REASONS.max_series_per_user;
  return `per-user series limit of ${limit} exceeded (${info.errorId}).${ADJUST(info.knob)} The edge estimates ${activeSeries} active series for the tenant; ${refused} of the ${series} series in this request are new and were refused, the others were accepted.`;
}

export function bodyTooLargeMessage(observed: number, limit: number): string {
  const info = REASONS.body_too_large;
  return `the incoming push request has been rejected because its message size of ${observed} bytes is larger than the allowed limit of ${limit} bytes (${info.errorId}).${ADJUST(info.knob)}`;
}

export function seriesPerRequestMessage(observed: number, limit: number): string {
  const info = REASONS.max_series_per_request;
  return `the request has been rejected because it carries ${observed} series, more than the limit of ${limit} series per request (${info.errorId}). Lower the sender's max_samples_per_send, or raise max_series_per_request for the tenant.`;
}

/** `otlp`: the body was read as OTLP (a `/v1/metrics` path), so the advice names OTLP's encodings. */
export function invalidBodyMessage(detail: string, otlp = false): string {
  if (otlp)
    return `the request body is not a valid OTLP metrics message: ${detail} (${REASONS.invalid_body.errorId}). Send an ExportMetricsServiceRequest encoded as its Content-Type names (application/x-protobuf or application/json), gzip-compressed or not.`;
  return `the request body is not a valid remote-write message: ${detail} (${REASONS.invalid_body.errorId}). Send snappy-compressed protobuf with Content-Encoding: snappy.`;
}

export function missingTenantMessage(header: string, basicAuth: boolean): string {
  const alt = basicAuth ? ' or a basic-auth username' : '';
  return `no org id: the request has no ${header} header${alt} naming the tenant (${REASONS.missing_tenant.errorId}).`;
}

/**
 * The tenant header and the basic-auth user disagree. Neither value is echoed: the client knows both, and the
 * message goes into log lines.
 */
export function tenantMismatchMessage(header: string): string {
  return `the ${header} header names a different tenant than the basic-auth user the request authenticated as; send the header with the same tenant, or leave it out (${REASONS.tenant_mismatch.errorId}).`;
}

export function invalidTenantMessage(problem: string): string {
  return `invalid tenant id: ${problem} (${REASONS.invalid_tenant.errorId}).`;
}

/** Mimir's 202 body for a write from a replica that is not the elected one (its wording, typo included). */
export function haDeduplicatedMessage(replica: string, elected: string): string {
  return `replicas did not mach, rejecting sample: replica=${replica}, elected=${elected}`;
}

/** Mimir's 400 for a write from one HA cluster more than ha_max_clusters. */
export function haTooManyClustersMessage(limit: number): string {
  return (
    `the write request has been rejected because the maximum number of high-availability (HA) clusters has been ` +
    `reached for this tenant (limit: ${limit}) (err-mimir-tenant-too-many-ha-clusters).${ADJUST(REASONS.ha_too_many_clusters.knob)}`
  );
}

/** The answer for a write within every limit (shared, frozen: allowing allocates nothing). */
export const ALLOWED: Decision = Object.freeze({
  allowed: true,
  reason: 'allowed',
  status: 200,
  retryAfterSeconds: 0,
  errorId: '',
  message: '',
  limit: 0,
  observed: 0,
  wouldDeny: false,
});

/** A denial for `reason`; `wouldDeny` marks one that is only observed. */
export function denial(
  reason: Exclude<DecisionReason, 'allowed'>,
  message: string,
  limit: number,
  observed: number,
  retryAfterSeconds = 0,
): Decision {
  const info = REASONS[reason];
  return {
    allowed: false,
    reason,
    status: info.status,
    retryAfterSeconds,
    errorId: info.errorId,
    message,
    limit,
    observed,
    wouldDeny: false,
  };
}

/** `d` as a limit only observed: allowed, and counted as would-deny. */
export function observedOnly(d: Decision): Decision {
  return { ...d, allowed: true, status: 200, wouldDeny: true };
}

/** What a request gets when enforcement itself failed and FAILURE_MODE_ALLOW is off: retriable, never a 4xx. */
export const INTERNAL_ERROR: Decision = Object.freeze({
  allowed: false,
  reason: 'internal_error',
  status: 500,
  retryAfterSeconds: 1,
  errorId: REASONS.internal_error.errorId,
  message: `enforcement failed; retry later (${REASONS.internal_error.errorId}).`,
  limit: 0,
  observed: 0,
  wouldDeny: false,
});
