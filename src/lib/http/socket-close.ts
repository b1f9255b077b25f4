// Closing a connection the server refused: the answer is written with `Connection: close`, but a client that
// never reads it (or keeps sending) would hold the socket half-open. destroySoon() ends it a second later,
// whether or not the client cooperates. Used by the proxy's listener and by every early refusal.

import type { Duplex } from 'node:stream';

/**
 * After a refusal, how long the client gets to read the answer before its socket is destroyed. `end()` only
 * half-closes: a client that keeps trickling bytes and never reads would hold the connection (and a file
 * descriptor) for as long as it likes. A second is plenty to read one short answer on any real network.
 */
export const CLOSE_AFTER_REFUSAL_MS = 1000;

/**
 * Destroys `socket` CLOSE_AFTER_REFUSAL_MS from now unless it closed by itself first. Used after every early
 * refusal that closes the connection (408, 431, 400 from the parser; 400/413/503 with `Connection: close`
 * from the proxy), so a refused connection is gone within its timeout plus about a second.
 */
export function destroySoon(socket: Duplex): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), CLOSE_AFTER_REFUSAL_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
