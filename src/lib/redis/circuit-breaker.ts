// A circuit breaker over round trips to a shared store: closed (use it), open (don't; it failed
// `threshold` times in a row), half-open (one probe in flight). Pure state: time is passed in, it does
// no I/O and schedules nothing; the owner probes and reports.

export type BreakerState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private consecutiveFailures = 0;
  private openedAtMs = 0;
  /** Times the breaker opened. */
  opened = 0;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly onChange: (from: BreakerState, to: BreakerState) => void = () => undefined,
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** A round trip succeeded while closed. */
  success(): void {
    this.consecutiveFailures = 0;
  }

  /** A round trip failed while closed: opens after `threshold` in a row. */
  failure(nowMs: number): void {
    if (this.current !== 'closed') return;
    if (++this.consecutiveFailures >= this.threshold) this.open(nowMs);
  }

  /** Whether it is time to probe: open for at least the cooldown. Moves to half-open when it is. */
  tryProbe(nowMs: number): boolean {
    if (this.current !== 'open' || nowMs - this.openedAtMs < this.cooldownMs) return false;
    this.move('half_open');
    return true;
  }

  /** The probe's outcome: closes on success, opens again (for another cooldown) on failure. */
  probed(ok: boolean, nowMs: number): void {
    if (this.current !== 'half_open') return;
    if (ok) {
      this.consecutiveFailures = 0;
      this.move('closed');
    } else this.open(nowMs);
  }

  private open(nowMs: number): void {
    this.openedAtMs = nowMs;
    if (this.current === 'closed') this.opened++;
    this.move('open');
  }

  private move(to: BreakerState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.onChange(from, to);
  }
}

/** Told of every round trip to a shared store: whether it answered, how many checks it carried, how long it took. */
export type RoundTripListener = (ok: boolean, checks: number, seconds: number, err?: unknown) => void;
