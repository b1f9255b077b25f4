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
  invalid_tenant: { status: 400, errorId: 'err-mimir-edge-invalid-tenant', knob: '' },
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
};

const ADJUST = (knob: string): string =>
  knob
    ? ` To adjust the related per-tenant limit, configure ${knob}, or contact your service administrator.`
    : '';

export function seriesLimitMessage(
  reason:
    | 'max_label_names_per_series'
    | 'max_label_names_per_info_series'
    | 'max_label_name_length'
    | 'max_label_value_length',
  observed: number,
  limit: number,
  series: string,
): string {
  const what = {
    max_label_names_per_series: 'number of labels',
    max_label_names_per_info_series: 'number of labels',
    max_label_name_length: 'label name length',
    max_label_value_length: 'label value length',
  }[reason];
  const info = REASONS[reason];
  const kind = reason === 'max_label_names_per_info_series' ? 'an info series' : 'a series';
  return `received ${kind} whose ${what} exceeds the limit (actual: ${observed}, limit: ${limit}) ${series} (${info.errorId}).${ADJUST(info.knob)}`;
}

/** Mimir prints at most 200 characters of a metadata name or unit in its message. */
const METADATA_SHOWN = 200;

export function metadataLimitMessage(
  reason: 'metadata_metric_name_too_long' | 'metadata_unit_too_long',
  observed: number,
  limit: number,
  metricName: string,
  unit: string,
): string {
  const info = REASONS[reason];
  const shown = (s: string): string => (s.length > METADATA_SHOWN ? `${s.slice(0, METADATA_SHOWN)}…` : s);
  const what =
    reason === 'metadata_unit_too_long'
      ? `unit length exceeds the limit (actual: ${observed}, limit: ${limit}) unit: '${shown(unit)}' metric name: '${shown(metricName)}'`
      : `metric name length exceeds the limit (actual: ${observed}, limit: ${limit}) metric name: '${shown(metricName)}'`;
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
