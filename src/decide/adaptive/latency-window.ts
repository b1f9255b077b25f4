// What the upstream answered during one window, for one route: how many answers, how many were errors (5xx,
// 429, no answer at all), and their latencies in a fixed log-bucketed histogram, so a p99 costs no sort and
// recording costs no allocation. Pure: the owner decides when a window starts and ends.

/** The histogram's first bucket ends at 0.1 ms; each next one is 10% wider. 200 buckets reach past 10 minutes. */
const FIRST_BUCKET_MS = 0.1;
const GROWTH = 1.1;
const BUCKETS = 200;
const LOG_GROWTH = Math.log(GROWTH);

/** The upper bound of bucket `i`, in ms. */
function bucketUpperMs(i: number): number {
  return FIRST_BUCKET_MS * Math.pow(GROWTH, i);
}

function bucketOf(ms: number): number {
  if (!(ms > FIRST_BUCKET_MS)) return 0;
  const i = Math.ceil(Math.log(ms / FIRST_BUCKET_MS) / LOG_GROWTH);
  return i >= BUCKETS ? BUCKETS - 1 : i;
}

/** Whether an upstream answer says the upstream is struggling: a 5xx, a 429, or no answer (status 0). */
export function isDegradedAnswer(status: number): boolean {
  return status === 0 || status === 429 || status >= 500;
}

export class LatencyWindow {
  private readonly counts = new Float64Array(BUCKETS);
  /** Answers recorded since the last reset. */
  answers = 0;
  /** Of those, 5xx, 429 and requests that got no answer. */
  errors = 0;
  /** The slowest answer, in ms (the p99 never reports more than this). */
  maxMs = 0;

  /** One upstream answer: its latency in ms and its status (0 for none: a timeout, a reset, a refused connect). */
  record(ms: number, status: number): void {
    this.counts[bucketOf(ms)]!++;
    this.answers++;
    if (ms > this.maxMs) this.maxMs = ms;
    if (isDegradedAnswer(status)) this.errors++;
  }

  /**
   * The latency at quantile `q` (0..1], in ms: the upper bound of the bucket holding it, so it overstates by at
   * most 10%, never more than the slowest answer. 0 when there was no answer.
   */
  quantileMs(q: number): number {
    if (this.answers === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.answers));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketUpperMs(i), this.maxMs);
    }
    return this.maxMs;
  }

  errorRatio(): number {
    return this.answers === 0 ? 0 : this.errors / this.answers;
  }

  reset(): void {
    this.counts.fill(0);
    this.answers = 0;
    this.errors = 0;
    this.maxMs = 0;
  }
}
