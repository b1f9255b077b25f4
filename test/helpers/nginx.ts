// Runs Debian's nginx for tests: a private prefix directory (config, logs, temp files, pid), a rendered
// deploy/nginx config, `nginx -t` before every start or reload, and stop by the master's own PID.
// Never touches the machine's nginx: no default paths are used, and nothing is signalled by name.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderNginxConfig } from '../../deploy/nginx/render.mjs';
import type { RenderOptions } from '../../deploy/nginx/render.mjs';
import { sleep, startProcess } from './child-process.js';
import type { ManagedProcess } from './child-process.js';
import { requireDebianBinary } from './debian.js';
import { freePort } from './ports.js';

const run = promisify(execFile);
const WORKER_PROCESSES = 2;

/** PIDs of `parent`'s children (nginx's master is single-threaded), from /proc: never by process name. */
async function childrenOf(parent: number): Promise<number[]> {
  const text = await readFile(`/proc/${parent}/task/${parent}/children`, 'utf8').catch(() => '');
  return text
    .trim()
    .split(/\s+/)
    .filter((pid) => pid !== '')
    .map(Number);
}

/** What a test chooses; listen address, logs and temp paths are filled in by the helper. */
export type NginxRouting = Omit<RenderOptions, 'listen' | 'errorLog' | 'accessLog' | 'tempDir'>;

export interface NginxInstance {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly prefix: string;
  readonly process: ManagedProcess;
  /**
   * Renders `routing`, checks it with `nginx -t`, swaps the file in and sends SIGHUP to the master; resolves
   * once the new workers run (new connections get the new config; old workers finish what they hold).
   */
  reload(routing: NginxRouting): Promise<void>;
  /** Resolves once no worker of an earlier config is left (they may linger up to lingering_timeout). */
  settled(): Promise<void>;
  /** PIDs of the master's worker processes now. */
  workers(): Promise<number[]>;
  /** The access log so far (one line per request, with identity and route). */
  accessLog(): Promise<string>;
  /** The end of nginx's error log, for failure messages. */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/** Installs nginx if needed (as root) and returns its path. */
export function requireNginx(): string {
  return requireDebianBinary('nginx', 'nginx-light');
}

export async function startNginx(routing: NginxRouting): Promise<NginxInstance> {
  const binary = requireNginx();
  const prefix = await mkdtemp(join(tmpdir(), 'edge-nginx-'));
  // nginx's workers run as www-data when the master is root: they must reach the prefix and write temp files.
  await chmod(prefix, 0o755);
  await mkdir(join(prefix, 'logs'));
  await mkdir(join(prefix, 'temp'), { mode: 0o777 });
  await chmod(join(prefix, 'temp'), 0o777);
  const port = await freePort();
  const confPath = join(prefix, 'nginx.conf');
  const errorLogPath = join(prefix, 'logs', 'error.log');
  const globals = `daemon off; pid ${join(prefix, 'nginx.pid')};`;
  const baseArgs = ['-p', prefix, '-e', errorLogPath, '-c', confPath, '-g', globals];

  const render = (r: NginxRouting): string =>
    renderNginxConfig({
      ...r,
      listen: `127.0.0.1:${port}`,
      errorLog: errorLogPath,
      accessLog: join(prefix, 'logs', 'access.log'),
      tempDir: join(prefix, 'temp'),
      workerProcesses: String(WORKER_PROCESSES),
    });

  /** Writes `text` as the next config, asks `nginx -t` about it, and only then makes it the config in force. */
  const install = async (text: string): Promise<void> => {
    const candidate = join(prefix, 'nginx.next.conf');
    await writeFile(candidate, text);
    try {
      await run(binary, ['-t', '-q', '-p', prefix, '-e', errorLogPath, '-c', candidate, '-g', globals]);
    } catch (err) {
      const e = err as { stderr?: string };
      throw new Error(`nginx -t refused the rendered config: ${e.stderr ?? String(err)}\n${text}`, {
        cause: err,
      });
    }
    await rename(candidate, confPath);
  };

  await install(render(routing));
  const proc = startProcess({
    name: 'nginx',
    command: binary,
    args: baseArgs,
    afterStop: () => rm(prefix, { recursive: true, force: true }),
  });
  const url = `http://127.0.0.1:${port}`;
  const errorLog = async (): Promise<string> => {
    const text = await readFile(errorLogPath, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-20).join('\n');
  };
  // Ready once the port accepts: any HTTP answer will do (the upstreams may not be up yet).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitInfo() !== undefined)
      throw new Error(`nginx exited at start: ${proc.output()}\n${await errorLog()}`);
    try {
      const res = await fetch(`${url}/_edge_nginx_ready`, { signal: AbortSignal.timeout(500) });
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        await proc.stop();
        throw new Error(`nginx did not accept connections on ${url} within 10 s\n${await errorLog()}`);
      }
      await sleep(50);
    }
  }

  let currentWorkers = await childrenOf(proc.pid);
  const until = async (what: string, done: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + 15_000;
    while (!(await done())) {
      if (proc.exitInfo() !== undefined) throw new Error(`nginx exited on reload\n${await errorLog()}`);
      if (Date.now() > deadline) throw new Error(`nginx: waited 15 s for ${what}\n${await errorLog()}`);
      await sleep(20);
    }
  };

  return {
    url,
    prefix,
    process: proc,
    async reload(next) {
      await install(render(next));
      const before = new Set(await childrenOf(proc.pid));
      process.kill(proc.pid, 'SIGHUP');
      await until('the new workers to start', async () => {
        currentWorkers = (await childrenOf(proc.pid)).filter((pid) => !before.has(pid));
        return currentWorkers.length >= WORKER_PROCESSES;
      });
    },
    async settled() {
      await until('the old workers to exit', async () =>
        (await childrenOf(proc.pid)).every((pid) => currentWorkers.includes(pid)),
      );
    },
    workers: () => childrenOf(proc.pid),
    accessLog: () => readFile(join(prefix, 'logs', 'access.log'), 'utf8').catch(() => ''),
    errorLog,
    async stop() {
      await proc.stop(5000);
    },
  };
}
