import { decompressSnappyBlock, scanWriteRequest } from '../../src/remote-write/index.js';
import { manySeries, snappyBody } from '../../test/helpers/write-request.js';

const body = snappyBody(manySeries(2000, 12));
const decoded = decompressSnappyBlock(body, 50 << 20);
function time(name: string, n: number, f: () => void) {
  for (let i = 0; i < n / 10; i++) f();
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  console.log(name, (((performance.now() - t) / n) * 1000).toFixed(2), 'us');
}
time('scan', 2000, () => scanWriteRequest(decoded, body.length));
for (const size of [4 << 20, 16 << 20]) {
  const sab = new SharedArrayBuffer(size);
  const ring = new Uint8Array(sab);
  const buf = Buffer.from(sab);
  const ab = new Uint8Array(size);
  let off = 0;
  const step = (n: number) => { if (off + n > size) off = 0; const o = off; off += n; return o; };
  time(`${size>>20}MB sab set decoded`, 3000, () => ring.set(decoded, step(decoded.length)));
  time(`${size>>20}MB sab Buffer.copy decoded`, 3000, () => { const o = step(decoded.length); Buffer.prototype.copy.call(decoded, buf, o); });
  time(`${size>>20}MB ab set decoded`, 3000, () => ab.set(decoded, step(decoded.length)));
  time(`${size>>20}MB sab set wire`, 3000, () => ring.set(body, step(body.length)));
  time(`${size>>20}MB sab Buffer.copy wire`, 3000, () => { const o = step(body.length); body.copy(buf, o); });
  time(`${size>>20}MB ab set wire`, 3000, () => ab.set(body, step(body.length)));
}
time('decoded.slice', 3000, () => decoded.slice());
time('scan', 2000, () => scanWriteRequest(decoded, body.length));
