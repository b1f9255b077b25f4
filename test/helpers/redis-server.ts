// Starts real redis-server processes (Debian's package) on random 127.0.0.1 ports with no persistence,
// alone or as a Cluster (masters + replicas, joined with `redis-cli --cluster create`), and stops,
// kills or restarts them by their own PID. Never touches a Redis it did not start (the machine's 6379).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep, startProcess } from './child-process.js';
import type { ManagedProcess } from './child-process.js';
import { requireDebianBinary } from './debian.js';
import { freePorts } from './ports.js';

const execFileAsync = promisify(execFile);

export interface RedisServer {
  readonly port: number;
  /** host:port, as REDIS_ADDRESS takes it. */
  readonly address: string;
  readonly process: ManagedProcess;
  /** SIGKILL by PID: the server vanishes mid-flight, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing was saved). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Runs redis-cli against this server and returns its output. */
  cli(...args: string[]): Promise<string>;
}

/** Resolves once `port` answers PING with PONG; throws after `timeoutMs`. */
export async function waitForRedis(port: number, timeoutMs: number, proc?: ManagedProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc?.exitInfo() !== undefined) {
      throw new Error(`redis-server on port ${port} exited before answering; its output:\n${proc.output()}`);
    }
    try {
      if (await ping(port)) return;
      last = 'no PONG';
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms (${last})`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(500, () => socket.destroy(new Error('timeout')));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.on('error', reject);
  });
}

function spawnRedis(binary: string, port: number, dir: string, extra: readonly string[]): ManagedProcess {
  return startProcess({
    name: `redis-server :${port}`,
    command: binary,
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
      ...extra,
    ],
  });
}

export async function startRedisServer(
  options: { extraArgs?: readonly string[] } = {},
): Promise<RedisServer> {
  const binary = requireDebianBinary('redis-server', 'redis-server');
  const cliBinary = requireDebianBinary('redis-cli', 'redis-tools');
  const [port] = await freePorts(1);
  const dir = mkdtempSync(join(tmpdir(), 'edge-redis-'));
  const extra = options.extraArgs ?? [];
  let proc = spawnRedis(binary, port!, dir, extra);
  await waitForRedis(port!, 10_000, proc);
  const server: RedisServer = {
    port: port!,
    address: `127.0.0.1:${port}`,
    get process() {
      return proc;
    },
    async kill() {
      process.kill(proc.pid, 'SIGKILL');
      await proc.exited;
      await proc.stop();
    },
    async restart() {
      if (proc.exitInfo() === undefined) await proc.stop();
      proc = spawnRedis(binary, port!, dir, extra);
      await waitForRedis(port!, 10_000, proc);
    },
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async cli(...args: string[]) {
      const { stdout } = await execFileAsync(cliBinary, ['-h', '127.0.0.1', '-p', String(port), ...args]);
      return stdout;
    },
  };
  return server;
}

export interface RedisCluster {
  /** All nodes, masters first. */
  readonly nodes: readonly RedisServer[];
  /** Comma-separated seed list for REDIS_ADDRESS. */
  readonly seeds: string;
  /** The node currently serving `key`'s slot as master. */
  masterFor(key: string): Promise<RedisServer>;
  /** Waits until `cluster_state:ok` is reported by every live node. */
  waitHealthy(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** `masters` masters, each with `replicasPerMaster` replicas, cluster-node-timeout 1 s so failover is quick. */
export async function startRedisCluster(masters = 3, replicasPerMaster = 1): Promise<RedisCluster> {
  const cliBinary = requireDebianBinary('redis-cli', 'redis-tools');
  const count = masters * (1 + replicasPerMaster);
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'edge-redis-cluster-'));
      nodes.push(
        await startRedisServer({
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, 'nodes.conf'),
            '--cluster-node-timeout',
            '1000',
            '--cluster-replica-validity-factor',
            '0',
          ],
        }),
      );
    }
    await execFileAsync(
      cliBinary,
      [
        '--cluster',
        'create',
        ...nodes.map((n) => n.address),
        '--cluster-replicas',
        String(replicasPerMaster),
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  const cluster: RedisCluster = {
    nodes,
    seeds: nodes
      .slice(0, masters)
      .map((n) => n.address)
      .join(','),
    async masterFor(key) {
      const live = nodes.filter((n) => n.process.exitInfo() === undefined);
      const slot = Number((await live[0]!.cli('CLUSTER', 'KEYSLOT', key)).trim());
      for (const n of live) {
        const self = (await n.cli('CLUSTER', 'NODES')).split('\n').find((l) => l.includes('myself'));
        if (self && self.includes('master') && ownsSlot(self, slot)) return n;
      }
      throw new Error(`no live master serves slot ${slot} (key ${key})`);
    },
    async waitHealthy(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let ok = true;
        for (const n of nodes) {
          if (n.process.exitInfo() !== undefined) continue;
          const info = await n.cli('CLUSTER', 'INFO').catch(() => '');
          if (!info.includes('cluster_state:ok')) ok = false;
        }
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`Redis Cluster not healthy within ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  await cluster.waitHealthy(30_000);
  return cluster;
}

/** Whether a CLUSTER NODES line lists `slot` among its ranges. */
function ownsSlot(line: string, slot: number): boolean {
  for (const part of line.trim().split(' ').slice(8)) {
    const [from, to] = part.split('-').map(Number);
    if (from === undefined || Number.isNaN(from)) continue;
    if (slot >= from && slot <= (to ?? from)) return true;
  }
  return false;
}
