import { decompressSnappyBlock, scanWriteRequest } from '../../src/remote-write/index.js';
import { manySeries, snappyBody } from '../../test/helpers/write-request.js';

const body = snappyBody(manySeries(2000, 12));
const decoded = decompressSnappyBlock(body, 50 << 20);
console.log('offsets', body.byteOffset, decoded.byteOffset);
function time(name: string, n: number, f: () => void) {
  for (let i = 0; i < n / 10; i++) f();
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  console.log(name, (((performance.now() - t) / n) * 1000).toFixed(2), 'us');
}
const size = 4 << 20;
const sab = new SharedArrayBuffer(size);
const ring = new Uint8Array(sab);
const ab = new Uint8Array(size);
for (let r = 0; r < 2; r++) {
time('scan', 2000, () => scanWriteRequest(decoded, body.length));
for (const align of [1, 8]) {
  let off = 0;
  const step = (n: number) => { if (off + n > size) off = 0; const o = off; off += (n + align - 1) & ~(align - 1); return o; };
  time(`align ${align} sab set decoded`, 3000, () => ring.set(decoded, step(decoded.length)));
  time(`align ${align} ab set decoded`, 3000, () => ab.set(decoded, step(decoded.length)));
  time(`align ${align} sab set wire`, 3000, () => ring.set(body, step(body.length)));
  time(`align ${align} ab set wire`, 3000, () => ab.set(body, step(body.length)));
}
}
