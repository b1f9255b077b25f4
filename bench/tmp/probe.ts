import { MessageChannel, Worker } from 'node:worker_threads';
import { decompressSnappyBlock, scanWriteRequest } from '../../src/remote-write/index.js';
import { manySeries, snappyBody } from '../../test/helpers/write-request.js';

const body = snappyBody(manySeries(2000, 12));
const decoded = decompressSnappyBlock(body, 50 << 20);
console.log('wire', body.length, 'decoded', decoded.length, 'decoded off', decoded.byteOffset, decoded.buffer.byteLength);
function time(name: string, n: number, f: () => void) {
  for (let i = 0; i < n / 10; i++) f();
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  console.log(name, (((performance.now() - t) / n) * 1000).toFixed(2), 'us');
}
time('scan', 2000, () => scanWriteRequest(decoded, body.length));
const sab = new SharedArrayBuffer(64 << 20);
const ring = new Uint8Array(sab);
let off = 0;
time('sab set decoded', 5000, () => { if (off + decoded.length > ring.length) off = 0; ring.set(decoded, off); off += decoded.length; });
time('sab set wire', 5000, () => { if (off + body.length > ring.length) off = 0; ring.set(body, off); off += body.length; });
const { port1, port2 } = new MessageChannel();
let got = 0;
port2.on('message', () => got++);
time('postMessage wire copy', 2000, () => port1.postMessage({ t: 'bench', f: 'prw1', now: 1, b: body }));
time('postMessage decoded copy', 2000, () => port1.postMessage({ t: 'bench', f: 'prw1', now: 1, b: decoded }));
time('postMessage small', 5000, () => port1.postMessage(1));
const i32 = new Int32Array(sab, 0, 4);
time('atomics notify', 20000, () => { Atomics.store(i32, 0, 1); Atomics.notify(i32, 0); });
time('scan', 2000, () => scanWriteRequest(decoded, body.length));
setTimeout(() => { console.log('got', got); process.exit(0); }, 500);
