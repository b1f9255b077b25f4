// bench:spine's hand-over rows: what the event loop pays to hand a write to the active-series worker
// (OffThreadActiveSeries.observe), timed call by call. A tight loop would offer writes far faster than any reader
// takes them (a million a second): the ring would fill and the loop would time refusals. So each call is timed
// alone, and the loop waits (untimed, yielding to the event loop) while the ring is over a quarter full; a round
// reports the mean of its calls. The worker is running meanwhile, on the other CPU.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { OffThreadActiveSeries } from '../../src/observe/active-series/off-thread.js';
import { watchCpu } from './machine.js';
import type { MicroResult } from './microbench.js';
import { median } from './stats.js';

export interface HandoverCase {
  name: string;
  tracker: OffThreadActiveSeries;
  /** One call of observe(); its result does not matter. */
  run: () => boolean;
}

async function round(
  c: HandoverCase,
  roundMs: number,
  queueBytes: number,
): Promise<{ us: number; n: number; other: number }> {
  const stop = watchCpu();
  let timed = 0;
  let n = 0;
  const end = performance.now() + roundMs;
  while (performance.now() < end) {
    while (c.tracker.queuedBytes > queueBytes / 4) await yieldToEventLoop();
    const start = performance.now();
    c.run();
    timed += performance.now() - start;
    n++;
    if (n % 8 === 0) await yieldToEventLoop();
  }
  return { us: (timed * 1000) / n, n, other: stop().otherPct };
}

export async function timeHandover(
  cases: readonly HandoverCase[],
  options: { warmupMs: number; roundMs: number; rounds: number; queueBytes: number },
): Promise<MicroResult[]> {
  for (const c of cases) await round(c, options.warmupMs, options.queueBytes);
  const rounds = cases.map(() => [] as { us: number; n: number; other: number }[]);
  for (let r = 0; r < options.rounds; r++)
    for (let i = 0; i < cases.length; i++)
      rounds[i]!.push(await round(cases[i]!, options.roundMs, options.queueBytes));
  return cases.map((c, i) => {
    const us = rounds[i]!.map((x) => x.us);
    return {
      name: c.name,
      medianUs: median(us),
      minUs: Math.min(...us),
      maxUs: Math.max(...us),
      roundsUs: us,
      iterations: rounds[i]!.map((x) => x.n),
      otherCpuPct: rounds[i]!.map((x) => x.other),
      retried: 0,
    };
  });
}
