// The write pipeline, named in one place: the stages a write goes through, in order. Each stage is one file under
// src/decide/stages/; it reads the WriteState, adds what it found, or ends the pipeline with a Decision. The order
// is Mimir's distributor's: request_rate first, then HA dedupe, drop_labels and validation, the limits, and
// ingestion_rate last; selective filtering wraps the rates.
//
// request_rate (stages/request-rate.ts) runs before the body is even read, so a tenant out of requests costs no
// decompression: WriteChecker.check() takes it, measures the body, then runs WRITE_STAGES on the measured write.
// Tenants without a request_rate have both buckets taken in one call by the rates stage.
//
// Stages answer synchronously or with a Promise (a shared store, the HA election through Redis); the runner goes
// on synchronously as long as they do, so the in-process path never awaits. A stage that throws or rejects is
// not a verdict on the request: the runner hands it to `failed` (FAILURE_MODE_ALLOW decides what the client gets).

import type { Decision } from '../decision/decision.js';
import { checkStatic } from './stages/static-limits.js';
import type { StaticInput } from './stages/static-limits.js';
import { cost } from './stages/cost.js';
import { haDedupe } from './stages/ha-dedupe.js';
import { maxSeries } from './stages/max-series.js';
import { decideRates, rateQuery, rates } from './stages/rates.js';
import { selectiveFilter, selectiveResume } from './stages/selective-filtering.js';
import { seriesRules } from './stages/series-rules.js';
import { staticLimits } from './stages/static-limits.js';
import { ingestionCost } from '../remote-write/request-info.js';
import type { RateAnswer, RateQuery } from '../stores/rate-store.js';
import type { StageDeps, StageOutcome, WriteStage, WriteState } from './write-request.js';

/** After request_rate and measuring the body (WriteChecker.check()), in this order. */
export const WRITE_STAGES: readonly WriteStage[] = [
  haDedupe, //          accept_ha_samples: the elected replica goes on; the others get 202
  seriesRules, //       drop_labels, then Mimir's per-series validation (partial acceptance)
  selectiveResume, //   a retry of a request delivered in part is decided as its rest
  staticLimits, //      max_body_bytes, max_series_per_request, label limits
  maxSeries, //         max_global_series_per_user (enforce_max_series_at_edge): new series over it refused
  cost, //              what ingestion_rate is charged, counted as Mimir counts it
  rates, //             ingestion_rate (and request_rate when not taken first): one take from the RateStore
  selectiveFilter, //   over budget: the series that fit go, 429 for the rest
];

function isState(outcome: StageOutcome): outcome is WriteState {
  return (outcome as WriteState).req !== undefined;
}

/**
 * Runs `stages` from `from` on `state` and gives the decision: the first one a stage returns, else the rates
 * stage's. Synchronous while every stage is; `failed` turns a throw or a rejection into the decision.
 */
export function runStages(
  stages: readonly WriteStage[],
  state: WriteState,
  deps: StageDeps,
  failed: (err: unknown) => Decision,
  from = 0,
): Decision | Promise<Decision> {
  let s = state;
  for (let i = from; i < stages.length; i++) {
    let outcome: StageOutcome | Promise<StageOutcome>;
    try {
      outcome = stages[i]!.run(s, deps);
    } catch (err) {
      return failed(err);
    }
    if (outcome instanceof Promise) {
      const next = i + 1;
      return outcome.then(
        (o) => (isState(o) ? runStages(stages, o, deps, failed, next) : o),
        (err: unknown) => failed(err),
      );
    }
    if (!isState(outcome)) return outcome;
    s = outcome;
  }
  return s.decided ?? failed(new Error('the write pipeline ended without a decision'));
}

export interface DecideInput extends StaticInput {
  tenantId: string;
  store: { take(tenant: string, q: RateQuery, nowMs: number): RateAnswer };
  nowMs: number;
}

/**
 * The static limits and the rates against a synchronous store, in one call: the decision without HA, drop_labels
 * or selective filtering. For benchmarks of the decision itself and tests of the limits.
 */
export function decide(input: DecideInput): Decision {
  const staticResult = checkStatic(input);
  if (staticResult && !staticResult.allowed) return staticResult;
  const query = rateQuery(input.tenant, ingestionCost(input.info), input.dryRun);
  return decideRates(
    input.tenant,
    query,
    input.store.take(input.tenantId, query, input.nowMs),
    input.dryRun,
    staticResult,
  );
}
