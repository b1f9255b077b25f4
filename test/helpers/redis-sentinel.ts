// Starts a real Redis Sentinel group on random 127.0.0.1 ports: one master, its replicas (redis-server
// with --replicaof) and sentinels (Debian's redis-sentinel) watching them with short timeouts, so that
// killing the master by PID promotes a replica within a few seconds. Stops only what it started.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep, startProcess } from './child-process.js';
import type { ManagedProcess } from './child-process.js';
import { requireDebianBinary } from './debian.js';
import { freePorts } from './ports.js';
import { startRedisServer, waitForRedis } from './redis-server.js';
import type { RedisServer } from './redis-server.js';

const execFileAsync = promisify(execFile);

export interface RedisSentinelGroup {
  /** The master name the sentinels monitor (REDIS_SENTINEL_MASTER). */
  readonly masterName: string;
  /** The data servers, the first master at start, then its replicas. */
  readonly servers: readonly RedisServer[];
  /** The sentinels' host:port list, as REDIS_ADDRESS takes it in sentinel mode. */
  readonly sentinelAddresses: string;
  readonly sentinels: readonly ManagedProcess[];
  /** The port the sentinels currently name as master (SENTINEL GET-MASTER-ADDR-BY-NAME). */
  masterPort(): Promise<number>;
  /** Waits until every sentinel names a master other than `oldPort` and that server answers as master. */
  waitForNewMaster(oldPort: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

export interface SentinelGroupOptions {
  replicas?: number;
  sentinels?: number;
  masterName?: string;
  /** Sentinel `down-after-milliseconds`: how long a silent master takes to be judged down. */
  downAfterMs?: number;
}

export async function startRedisSentinelGroup(
  options: SentinelGroupOptions = {},
): Promise<RedisSentinelGroup> {
  const sentinelBinary = requireDebianBinary('redis-sentinel', 'redis-sentinel');
  const cliBinary = requireDebianBinary('redis-cli', 'redis-tools');
  const masterName = options.masterName ?? 'edge-master';
  const replicaCount = options.replicas ?? 1;
  const sentinelCount = options.sentinels ?? 3;
  const downAfterMs = options.downAfterMs ?? 1000;
  const quorum = Math.floor(sentinelCount / 2) + 1;

  const servers: RedisServer[] = [];
  const sentinels: ManagedProcess[] = [];
  const dirs: string[] = [];
  const sentinelPorts = await freePorts(sentinelCount);
  const stop = async (): Promise<void> => {
    await Promise.all(sentinels.map((s) => s.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    const master = await startRedisServer();
    servers.push(master);
    for (let i = 0; i < replicaCount; i++) {
      servers.push(
        await startRedisServer({
          // Announce a priority so the promotion order is fixed, and answer reads while syncing.
          extraArgs: ['--replicaof', '127.0.0.1', String(master.port), '--replica-priority', String(100 + i)],
        }),
      );
    }
    // Sentinels only learn the replicas from the master's INFO: wait until it lists them all online.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const info = await master.cli('INFO', 'replication');
      if ((info.match(/state=online/g) ?? []).length >= replicaCount) break;
      if (Date.now() > deadline) throw new Error(`replicas did not sync with the master:\n${info}`);
      await sleep(50);
    }
    for (const port of sentinelPorts) {
      const dir = mkdtempSync(join(tmpdir(), 'edge-sentinel-'));
      dirs.push(dir);
      const conf = join(dir, 'sentinel.conf');
      // Sentinel rewrites its config file as it learns the topology: it must be a writable file of its own.
      writeFileSync(
        conf,
        [
          `port ${port!}`,
          'bind 127.0.0.1',
          'daemonize no',
          `dir ${dir}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} ${quorum}`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} 2000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      const proc = startProcess({ name: `redis-sentinel :${port!}`, command: sentinelBinary, args: [conf] });
      sentinels.push(proc);
      await waitForRedis(port!, 10_000, proc);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const ask = async (port: number): Promise<number | undefined> => {
    try {
      const { stdout } = await execFileAsync(
        cliBinary,
        ['-h', '127.0.0.1', '-p', String(port), 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName],
        { timeout: 2000 },
      );
      const lines = stdout.trim().split('\n');
      const n = Number(lines[1]);
      return Number.isFinite(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };

  const group: RedisSentinelGroup = {
    masterName,
    servers,
    sentinels,
    sentinelAddresses: sentinelPorts.map((p) => `127.0.0.1:${p!}`).join(','),
    async masterPort() {
      for (const p of sentinelPorts) {
        const port = await ask(p!);
        if (port !== undefined) return port;
      }
      throw new Error(`no sentinel names a master for ${masterName}`);
    },
    async waitForNewMaster(oldPort, timeoutMs) {
      const until = Date.now() + timeoutMs;
      let seen: (number | undefined)[] = [];
      while (Date.now() < until) {
        seen = await Promise.all(sentinelPorts.map((p) => ask(p!)));
        const first = seen[0];
        if (first !== undefined && first !== oldPort && seen.every((p) => p === first)) {
          const server = servers.find((s) => s.port === first);
          const role = server ? await server.cli('ROLE').catch(() => '') : '';
          if (role.startsWith('master')) return first;
        }
        await sleep(100);
      }
      throw new Error(
        `sentinels did not promote a new master within ${timeoutMs} ms (they name ports ${seen.join(', ')}; old master ${oldPort})`,
      );
    },
    stop,
  };
  return group;
}
