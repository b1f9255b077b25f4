// One write as a transport hands it to the checker (WriteChecker.check): who sent what, how, and when it
// arrived. Every transport builds this one object, so the pipeline's stages and the recorder read the same
// fields whichever way the write came in. Also the types the stages share (src/decide/write-pipeline.ts).

import type { Decision } from '../decision/decision.js';
import type { ResolvedTenant } from '../limits/tenant-limits.js';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';
import type { ActiveSeriesTracker } from '../observe/active-series/tracker.js';
import type { MeasuredBody, RequestInfo } from '../remote-write/index.js';
import type { RateAnswer, RateQuery, RateStore } from '../stores/rate-store.js';
import type { HaElection } from './ha-tracker.js';
import type { MimirView } from './mimir-rules.js';
import type { ObservedSeries } from './observed-series-rules.js';
import type { Resumed, SelectiveFilter } from './selective-filter.js';

/** The entry point a write came through; a label of rls_authz_check_duration_seconds. */
export type Transport = 'http' | 'ext_authz' | 'authz';

/** A write with its body: the proxy, and ext_authz with the body. */
export interface WriteRequest {
  tenant: string;
  body: Buffer;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  /** The request path (canonical form): `…/v1/metrics` is OTLP, anything else remote write. */
  path: string | undefined;
  requestId: string;
  transport: Transport;
  /** performance.now() when the request arrived. */
  started: number;
}

/** A write known only by its headers: the HTTP authz endpoint, or a body Envoy cut short. */
export interface HeadersOnlyWrite {
  tenant: string;
  /** Content-Length, or -1 when unknown. */
  declaredBytes: number;
  requestId: string;
  transport: Transport;
  started: number;
}

/**
 * What the stages know of one write so far. The checker builds it once the body is measured; each stage reads
 * it and adds what it found, or ends the pipeline with a Decision.
 */
export interface WriteState {
  readonly req: WriteRequest;
  readonly dryRun: boolean;
  readonly resolved: ResolvedTenant;
  readonly measured: MeasuredBody;
  /** request_rate's verdict when the request bucket was taken before measuring (request-rate), else undefined. */
  readonly requestTaken: Decision | undefined;
  /** The elected HA replica's label, which Mimir removes before validating (ha-dedupe). */
  haReplicaLabel: string | undefined;
  /** Mimir's per-series rules' result; undefined when every series passes as measured (series-rules). */
  view: MimirView | undefined;
  /** Selective filtering applies, and what an earlier try delivered of this request (selective-filtering). */
  selective: boolean;
  resumed: Resumed | undefined;
  /** The request as it is decided and recorded: as measured, its valid part, the rest, or the part forwarded. */
  info: RequestInfo;
  /** A static limit exceeded but only observed: the would-deny the decision carries (static-limits). */
  observed: Decision | undefined;
  /**
   * Set when Mimir's per-series rules were judged for the limits only observed (series-rules): the would-deny of
   * the first series they would refuse, which replaces the static checks' label limits (observed-series-rules).
   */
  seriesObserved?: ObservedSeries;
  /** What is taken from the buckets (cost), the store's answer and the decision on it (rates). */
  query: RateQuery | undefined;
  answer: RateAnswer | undefined;
  decided: Decision | undefined;
}

/** A stage's answer: the state to go on with, or the decision that ends the pipeline. */
export type StageOutcome = WriteState | Decision;

/** What the stages use besides the write itself. */
export interface StageDeps {
  store: RateStore;
  ha: HaElection;
  selective: SelectiveFilter;
  metrics: EdgeMetrics;
  log: Logger;
  now: () => number;
  /** Each tenant's active series (docs/active-series.md); absent with ACTIVE_SERIES_ENABLED=false. */
  activeSeries?: ActiveSeriesTracker;
}

/** One step of the write pipeline, one file under src/decide/stages/. */
export interface WriteStage {
  /** What it applies: Mimir's limit names where there are some. */
  readonly name: string;
  run(state: WriteState, deps: StageDeps): StageOutcome | Promise<StageOutcome>;
}
