// Every OTLP data point's time, judged against Mimir's sample time bounds: the exact pass behind OTLP partial
// acceptance for creation_grace_period and past_grace_period. Runs only when the scan's time bounds cross one.

import type { OtlpSeries } from './otlp-describe-series.js';
import { TARGET_INFO } from './otlp-describe-series.js';
import { walkOtlpSeries } from './otlp-series-labels.js';
import type { WriteFormat } from './request-info.js';

export const POINT_TIME_OK = 0;
export const POINT_TOO_NEW = 1;
export const POINT_TOO_OLD = 2;

/** Each point's time verdict and time (ms), by ordinal; a target_info ordinal is always OK (see below). */
export interface OtlpPointTimes {
  verdict: Uint8Array;
  timeMs: Float64Array;
}

/**
 * Reads every point's time and judges it as Mimir's validateSample and validateSampleHistogram judge the samples
 * translated from it: later than `latestMs` is too far in the future, earlier than `earliestMs` too far in the
 * past. A resource's target_info is stamped with the latest time of its points; once the points out of bounds
 * are left out of the body, that is within the bounds too, so target_info is never refused here.
 */
export function otlpPointTimes(
  buf: Uint8Array,
  format: WriteFormat,
  latestMs: number,
  earliestMs: number,
): OtlpPointTimes {
  const verdicts: number[] = [];
  const times: number[] = [];
  walkOtlpSeries(
    buf,
    format,
    () => true,
    (s: OtlpSeries) => {
      if (s.kind === TARGET_INFO) {
        verdicts[s.ordinal] = POINT_TIME_OK;
        times[s.ordinal] = 0;
        return false;
      }
      const ms = s.timeMs ?? 0;
      times[s.ordinal] = ms;
      verdicts[s.ordinal] = ms > latestMs ? POINT_TOO_NEW : ms < earliestMs ? POINT_TOO_OLD : POINT_TIME_OK;
      return false;
    },
  );
  return { verdict: Uint8Array.from(verdicts), timeMs: Float64Array.from(times) };
}
