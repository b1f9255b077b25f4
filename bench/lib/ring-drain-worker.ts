// For bench:spine's hand-over row: a worker that takes every write off the active-series ring and drops it, so
// the event loop's side of the hand-over is timed alone, with a consumer that always keeps up.

import { parentPort, workerData } from 'node:worker_threads';
import { RingConsumer } from '../../src/observe/active-series/handover-ring.js';
import type { WorkerSettings } from '../../src/observe/active-series/worker-protocol.js';

const ring = new RingConsumer((workerData as WorkerSettings).ring);
let closing = false;
parentPort!.on('message', (m: { type: string }) => {
  if (m.type !== 'close') return;
  closing = true;
  parentPort!.postMessage({ type: 'closed' });
});
void (async () => {
  while (!closing) {
    while (ring.take() !== undefined);
    await ring.wait(1000);
  }
})();
