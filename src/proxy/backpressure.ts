// Bounds what one process holds at once: requests in flight and write-body bytes buffered. Past either
// bound the proxy answers 503 + Retry-After at once (retriable: the sender backs off and resends), so a
// burst can never grow an unbounded queue or buffer. Counting only: never awaits, never allocates.

/** Which bound refused a request, as the `limit` label of rls_overload_rejections_total. */
export type OverloadLimit = 'requests' | 'bytes';

export class InflightBudget {
  /** Requests admitted and not yet answered (or abandoned). */
  requests = 0;
  /** Write-body bytes held in memory by admitted requests. */
  bytes = 0;

  constructor(
    readonly maxRequests: number,
    readonly maxBytes: number,
  ) {}

  /** Admits one more request, or returns false when MAX_INFLIGHT_REQUESTS are already in flight. */
  admitRequest(): boolean {
    if (this.requests >= this.maxRequests) return false;
    this.requests++;
    return true;
  }

  releaseRequest(): void {
    this.requests--;
  }

  /**
   * Reserves `n` bytes of body buffer, or returns false when they do not fit under MAX_INFLIGHT_BYTES.
   * A request is always admitted when no other body is buffered, so a body up to MAX_REQUEST_BYTES can pass
   * even when MAX_INFLIGHT_BYTES is set lower.
   */
  reserveBytes(n: number): boolean {
    if (this.bytes > 0 && this.bytes + n > this.maxBytes) return false;
    this.bytes += n;
    return true;
  }

  releaseBytes(n: number): void {
    this.bytes -= n;
  }
}

/** The text of a 503 answered because a bound was reached. */
export function overloadMessage(limit: OverloadLimit, budget: InflightBudget): string {
  const what =
    limit === 'requests'
      ? `${budget.maxRequests} requests are already in flight (MAX_INFLIGHT_REQUESTS)`
      : `${budget.maxBytes} bytes of request bodies are already buffered (MAX_INFLIGHT_BYTES)`;
  return `the edge is overloaded: ${what}; retry later (err-mimir-edge-overloaded).\n`;
}
