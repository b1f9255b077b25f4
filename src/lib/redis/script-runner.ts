// Runs one of our Lua scripts by its SHA1 (EVALSHA), falling back to EVAL when the server answers
// NOSCRIPT (a restart, a failover to a replica that never saw it, SCRIPT FLUSH); EVAL caches it again.
// Never sends the script text on the normal path.

import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connections.js';

export class LuaScript {
  readonly sha: string;
  /** Times the server had lost the script and it was sent again. */
  reloads = 0;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script; `keysAndArgs` holds its `numKeys` keys, then its arguments. Resolves with the reply. */
  async run(client: RedisClient, numKeys: number, keysAndArgs: string[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, numKeys, keysAndArgs);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      this.reloads++;
      return client.eval(this.source, numKeys, keysAndArgs);
    }
  }
}

/**
 * The Buffer-reply forms of EVALSHA/EVAL, which ioredis generates for every command but does not declare.
 * Not call/callBuffer: Cluster auto-pipelining re-sends those without their command name.
 */
interface BufferScripting {
  evalshaBuffer(sha: string, numKeys: number, ...keysAndArgs: (string | Buffer)[]): Promise<unknown>;
  evalBuffer(source: string, numKeys: number, ...keysAndArgs: (string | Buffer)[]): Promise<unknown>;
}

/** Like LuaScript.run, for a script whose reply is one binary string: resolves with it as a Buffer. */
export async function runForBuffer(
  script: LuaScript,
  client: RedisClient,
  numKeys: number,
  keysAndArgs: (string | Buffer)[],
): Promise<unknown> {
  try {
    return await (client as unknown as BufferScripting).evalshaBuffer(script.sha, numKeys, ...keysAndArgs);
  } catch (err) {
    if (!isNoScript(err)) throw err;
    script.reloads++;
    return (client as unknown as BufferScripting).evalBuffer(script.source, numKeys, ...keysAndArgs);
  }
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}
