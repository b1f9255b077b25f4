// The one answer every check produces. A denial is a value, never an exception.

/** Why a request was allowed or denied. Stable strings: they appear in metrics, logs and the admin API. */
export type DecisionReason =
  | 'allowed'
  | 'missing_tenant'
  | 'invalid_tenant'
  /** TENANT_FROM_BASIC_AUTH: the tenant header names another tenant than the authenticated basic-auth user. */
  | 'tenant_mismatch'
  | 'body_too_large'
  | 'invalid_body'
  /** A Content-Type, proto= or Content-Encoding the edge cannot read: 415. */
  | 'unsupported_media_type'
  | 'max_series_per_request'
  | 'max_label_names_per_series'
  /** An info series (name ending in _info) over max_label_names_per_info_series. */
  | 'max_label_names_per_info_series'
  | 'max_label_name_length'
  | 'max_label_value_length'
  /** A series without a metric name (no `__name__`, or an empty one). */
  | 'missing_metric_name'
  /** A metric name the tenant's name_validation_scheme refuses. */
  | 'metric_name_invalid'
  /** A label name the tenant's name_validation_scheme refuses (an empty one too). */
  | 'label_invalid'
  /** A label value that is not valid UTF-8. */
  | 'label_value_invalid'
  /** Two labels of one series with the same name. */
  | 'duplicate_label_names'
  /** A series with a sample later than now + creation_grace_period (Mimir refuses the series). */
  | 'sample_too_far_in_future'
  /** A series with a sample earlier than now - past_grace_period - out_of_order_time_window. */
  | 'sample_too_far_in_past'
  /** A native histogram with a schema outside -4..8 (and not -53, custom buckets). */
  | 'histogram_schema_invalid'
  /** A native histogram with more buckets than max_native_histogram_buckets (no reduction). */
  | 'max_native_histogram_buckets'
  /** A native histogram with too many buckets even at the lowest resolution. */
  | 'histogram_not_reducible'
  /** Metadata whose metric name or unit is over max_metadata_length (Mimir drops that metadata). */
  | 'metadata_metric_name_too_long'
  /** Metadata without a metric name, with enforce_metadata_metric_name (Mimir drops that metadata). */
  | 'metadata_missing_metric_name'
  | 'metadata_unit_too_long'
  | 'request_rate'
  | 'ingestion_rate'
  /** A write from an HA replica that is not the elected one of its cluster: answered 202, never forwarded. */
  | 'ha_deduplicated'
  /** A write from one HA cluster more than the tenant's ha_max_clusters. */
  | 'ha_too_many_clusters'
  /** New series of a tenant whose estimated active series reached max_global_series_per_user (enforced at the edge). */
  | 'max_series_per_user'
  /** Enforcement itself failed (a bug or a store failure); never a verdict on the request. */
  | 'internal_error'
  /** Adaptive protection shed the write: the upstream is degraded and the tenant's edge_priority is too low. */
  | 'upstream_overloaded';

export interface Decision {
  allowed: boolean;
  reason: DecisionReason;
  /** HTTP status the client gets when denied (200 when allowed). */
  status: number;
  /** Seconds a sender should wait before retrying; 0 when not applicable. */
  retryAfterSeconds: number;
  /** Stable error id (err-mimir-*), empty when allowed. */
  errorId: string;
  /** Short plain-text message for the client, empty when allowed. */
  message: string;
  /** The configured limit and the observed value that decided (0 when not applicable). */
  limit: number;
  observed: number;
  /**
   * True when a limit was exceeded but the tenant's enforcement for it is off (or the service is in dry-run):
   * the request is forwarded and the denial is only recorded.
   */
  wouldDeny: boolean;
  /**
   * Set when only part of a write request may go through (Mimir's partial acceptance): `body` replaces the
   * request body upstream, and the client gets `refusal` once the upstream has accepted it.
   */
  partial?: PartialForward;
}

/** The part of a write request that goes upstream, re-encoded, and the answer owed for the part left out. */
export interface PartialForward {
  body: Uint8Array;
  /** What the client gets once the upstream accepted `body`; undefined: the upstream's own answer. */
  refusal?: Decision;
  /** Called when the upstream accepted `body` (selective filtering remembers what was delivered). */
  delivered?: () => void;
}
