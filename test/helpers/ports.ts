// Free TCP ports for tests. A port the kernel picks for bind(0) comes from the ephemeral range, where the other
// test worker's servers and every outgoing connection's source port also come from: a port found free could be
// taken before the server under test binds it. So each vitest worker draws from its own band below the
// ephemeral range (10000–29999, split by VITEST_POOL_ID), probes the port by binding it, and does not hand the
// same port out twice; only if its band is full does it fall back to the kernel's pick.
import { createServer } from 'node:net';

const BANDS = 4;
const BAND_START = 10_000;
const BAND_SIZE = 5_000;
const poolId = Number(process.env['VITEST_POOL_ID'] ?? '1');
const band = BAND_START + ((Number.isInteger(poolId) && poolId > 0 ? poolId - 1 : 0) % BANDS) * BAND_SIZE;
/**
 * Ports the WHATWG fetch standard calls "bad": Node's fetch refuses them outright, so a server on one is
 * unreachable to every test that probes with fetch (10080 is the one inside our bands).
 */
const FETCH_BAD_PORTS = new Set([10080]);
/** Ports this process handed out: another draw skips them (the test using one may not have bound it yet). */
const handedOut = new Set<number>();

/** Binds 127.0.0.1:`port` and releases it; resolves to the port bound, or undefined when it is taken. */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(undefined) : reject(err),
    );
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the port of a listening socket (got ${String(address)})`));
        return;
      }
      const bound = address.port;
      server.close((err) => (err ? reject(err) : resolve(bound)));
    });
  });
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = band + Math.floor(Math.random() * BAND_SIZE);
    if (handedOut.has(candidate) || FETCH_BAD_PORTS.has(candidate)) continue;
    const port = await probe(candidate);
    if (port !== undefined) {
      handedOut.add(port);
      return port;
    }
  }
  const port = await probe(0);
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}

/** Returns `count` distinct free ports (all probed before any is released to the caller). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count && attempt < count * 10; attempt++) {
    ports.add(await freePort());
  }
  if (ports.size < count) throw new Error(`could only find ${ports.size} of ${count} free ports`);
  return [...ports];
}
