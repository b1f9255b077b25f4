// Free TCP ports for tests: bind 127.0.0.1:0, read the port the kernel picked, close.
// There is a small window in which another process could take the port; tests accept that.
import { createServer } from 'node:net';

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the port of a listening socket (got ${String(address)})`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
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
