// The active-series worker thread (docs/active-series.md): owns the estimate of every tenant that does not enforce
// max_global_series_per_user at the edge. It takes the writes the event loop hands over (handover-ring.ts),
// decodes and hashes them, keeps the sketches, new-series filters, top names and trend, shares its sketches
// through Redis on a connection of its own, and posts a mirror of its figures when the event loop asks.
// Started by off-thread.ts; nothing here is ever awaited by a write.

import { parentPort, workerData } from 'node:worker_threads';
import { decompressSnappyBlock } from '../../remote-write/snappy-block.js';
import { gunzipBounded } from '../../remote-write/gzip-bounded.js';
import { RingConsumer } from './handover-ring.js';
import type { HandoverRecord } from './handover-ring.js';
import { createLocalTracker } from './local-tracker.js';
import { buildMirror } from './worker-protocol.js';
import type { FromWorker, ToWorker, WorkerSettings } from './worker-protocol.js';

/** Longest wait for a write before the ring is looked at again anyway. */
const IDLE_WAIT_MS = 1000;
/** One warning per this long at most, for each kind of trouble. */
const LOG_EVERY_MS = 10_000;

const port = parentPort;
if (port === null) throw new Error('active-series-worker.ts runs as a worker thread');
const settings = workerData as WorkerSettings;
const post = (message: FromWorker): void => port.postMessage(message);

const logged = new Map<string, number>();
function warn(kind: string, msg: string, err: Error): void {
  const at = Date.now();
  if (at - (logged.get(kind) ?? Number.NEGATIVE_INFINITY) < LOG_EVERY_MS) return;
  logged.set(kind, at);
  post({ type: 'log', level: 'warn', msg, err: err.message });
}

const local = createLocalTracker(settings.options, settings.redis, (err) =>
  warn('redis', 'active series: Redis unreachable, estimates stay per replica meanwhile', err),
);
const tracker = local.tracker;
const ring = new RingConsumer(settings.ring);
let readErrors = 0;
let lastSweepMs = Number.NEGATIVE_INFINITY;
let closing = false;

function decode(r: HandoverRecord): Uint8Array {
  if (r.encoding === 'snappy') return decompressSnappyBlock(r.body, r.decodedBytes);
  if (r.encoding === 'gzip') return gunzipBounded(r.body, r.decodedBytes);
  return r.body;
}

/** Reads every write queued. */
function drain(): void {
  for (let r = ring.take(); r !== undefined; r = ring.take()) {
    try {
      tracker.observe(r.tenant, decode(r), r.format, r.nowMs, true);
    } catch (err) {
      readErrors++;
      warn('read', 'active series: body not read', err as Error);
    }
  }
}

async function readLoop(): Promise<void> {
  while (!closing) {
    drain();
    await ring.wait(IDLE_WAIT_MS);
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'tick') {
    drain();
    tracker.refreshShared(message.nowMs);
    if (message.nowMs - lastSweepMs >= settings.sweepMs) {
      lastSweepMs = message.nowMs;
      tracker.sweep(message.nowMs);
    }
    post({ type: 'mirror', id: 0, mirror: buildMirror(tracker, message.nowMs, readErrors) });
  } else if (message.type === 'sync') {
    drain();
    post({ type: 'mirror', id: message.id, mirror: buildMirror(tracker, message.nowMs, readErrors) });
  } else {
    closing = true;
    drain();
    void local.close().finally(() => post({ type: 'closed' }));
  }
});

void readLoop();
post({ type: 'ready' });
