import { Worker } from 'node:worker_threads';
import { setImmediate as tick } from 'node:timers/promises';
import { decompressSnappyBlock, scanWriteRequest } from '../../src/remote-write/index.js';
import { manySeries, snappyBody } from '../../test/helpers/write-request.js';

const body = snappyBody(manySeries(2000, 12));
const decoded = decompressSnappyBlock(body, 50 << 20);
const w = new Worker(`const { parentPort } = require('node:worker_threads'); let n = 0; parentPort.on('message', (m) => { n += m.b.length; });`, { eval: true });
const sab = new SharedArrayBuffer(4 << 20);
const ring = new Uint8Array(sab);
async function time(name: string, n: number, f: () => void) {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    f();
    if (i >= n / 10) total += performance.now() - t;
    await tick();
  }
  console.log(name, ((total / (n * 0.9)) * 1000).toFixed(2), 'us');
}
let off = 0;
const step = (n: number) => { if (off + n > ring.length) off = 0; const o = off; off += n; return o; };
for (let r = 0; r < 2; r++) {
  await time('scan', 2000, () => scanWriteRequest(decoded, body.length));
  await time('post wire', 2000, () => w.postMessage({ t: 'bench', b: body }));
  await time('post decoded', 2000, () => w.postMessage({ t: 'bench', b: decoded }));
  await time('sab set wire', 2000, () => ring.set(body, step(body.length)));
  await time('sab set decoded', 2000, () => ring.set(decoded, step(decoded.length)));
  await time('copy decoded (ab)', 2000, () => new Uint8Array(decoded));
}
await w.terminate();
