// Starts child processes for tests, keeps the tail of their output for failure messages, and stops
// them by their own PID (SIGTERM, then SIGKILL). Every process is registered so that an afterAll can
// stop all of them even when a test failed half-way; nothing is ever killed by name.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export interface StartProcessOptions {
  /** Short name used in messages, e.g. "sender prometheus". */
  name: string;
  command: string;
  args?: readonly string[];
  cwd?: string;
  /** Full environment of the child; defaults to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** How many output lines to keep (stdout and stderr together). */
  keepLines?: number;
  /** Echo the child's output to this process's stderr (also on when E2E_VERBOSE=1). */
  echo?: boolean;
  /** Run by stop() once the process has exited, e.g. to remove its temp dir. */
  afterStop?: () => Promise<void>;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** The last lines the process wrote, each prefixed with its stream. */
  output(): string;
  /** Set once the process has exited. */
  exitInfo(): ExitInfo | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM to this process's PID, SIGKILL after `timeoutMs`; resolves once it has exited. */
  stop(timeoutMs?: number): Promise<ExitInfo>;
}

/** Keeps the last `capacity` lines written to it. */
export class LineRing {
  private readonly lines: string[] = [];
  private readonly partial = new Map<string, string>();
  private dropped = 0;

  constructor(private readonly capacity: number) {}

  push(stream: string, chunk: string): void {
    const text = (this.partial.get(stream) ?? '') + chunk;
    const parts = text.split('\n');
    this.partial.set(stream, parts.pop() ?? '');
    for (const line of parts) this.add(`[${stream}] ${line}`);
  }

  private add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) {
      this.lines.shift();
      this.dropped++;
    }
  }

  toString(): string {
    const pending = [...this.partial.entries()]
      .filter(([, rest]) => rest !== '')
      .map(([s, rest]) => `[${s}] ${rest}`);
    const head = this.dropped > 0 ? [`... (${this.dropped} earlier lines not kept)`] : [];
    return [...head, ...this.lines, ...pending].join('\n');
  }
}

const running = new Set<ManagedProcess>();
const children = new Map<ManagedProcess, ChildProcess>();

function describeExit(info: ExitInfo): string {
  return info.signal !== null ? `killed by ${info.signal}` : `exited with code ${String(info.code)}`;
}

export function startProcess(options: StartProcessOptions): ManagedProcess {
  const ring = new LineRing(options.keepLines ?? 300);
  const echo = options.echo ?? process.env['E2E_VERBOSE'] === '1';
  const child = spawn(options.command, options.args ?? [], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
    child.once('error', (err) => {
      ring.push('spawn', `${err.message}\n`);
      // 'exit' may never come for a process that failed to spawn.
      if (child.pid === undefined) {
        exit = { code: null, signal: null };
        resolve(exit);
      }
    });
  });

  const onData = (stream: string) => (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    ring.push(stream, text);
    if (echo) process.stderr.write(`[${options.name} ${stream}] ${text}`);
  };
  child.stdout?.on('data', onData('stdout'));
  child.stderr?.on('data', onData('stderr'));

  let afterStop = options.afterStop;
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`could not start ${options.name} (${options.command}): the process has no PID`);
  }

  const managed: ManagedProcess = {
    name: options.name,
    pid,
    output: () => ring.toString(),
    exitInfo: () => exit,
    exited,
    async stop(timeoutMs = 5000): Promise<ExitInfo> {
      try {
        if (exit === undefined) {
          signal(pid, 'SIGTERM');
          const timer = setTimeout(() => {
            if (exit === undefined) signal(pid, 'SIGKILL');
          }, timeoutMs);
          try {
            await exited;
          } finally {
            clearTimeout(timer);
          }
        }
        return await exited;
      } finally {
        running.delete(managed);
        children.delete(managed);
        const cleanup = afterStop;
        afterStop = undefined;
        await cleanup?.();
      }
    },
  };
  running.add(managed);
  children.set(managed, child);
  return managed;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    // ESRCH: it is already gone, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Stops every process started through this module that is still registered. */
export async function stopAllProcesses(timeoutMs = 5000): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(timeoutMs)));
}

// Last resort if the test runner exits without running afterAll: SIGKILL our own children by PID.
process.once('exit', () => {
  for (const [managed, child] of children) {
    if (managed.exitInfo() === undefined && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

export interface WaitForHttpOptions {
  /** Fail at once, with its output, if this process exits while we wait. */
  process?: ManagedProcess;
  /** Delay between attempts. */
  intervalMs?: number;
}

/** Polls `url` until it answers 2xx; throws after `timeoutMs` saying what the last attempt saw. */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  options: WaitForHttpOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const interval = options.intervalMs ?? 100;
  let last: string;
  for (;;) {
    const proc = options.process;
    const info = proc?.exitInfo();
    if (proc !== undefined && info !== undefined) {
      throw new Error(
        `${proc.name} ${describeExit(info)} before ${url} answered 2xx; its last output:\n${proc.output()}`,
      );
    }
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(Math.max(250, Math.min(2000, deadline - Date.now()))),
      });
      await res.arrayBuffer();
      if (res.status >= 200 && res.status < 300) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() >= deadline) {
      const tailOut = proc !== undefined ? `; ${proc.name}'s last output:\n${proc.output()}` : '';
      throw new Error(`${url} did not answer 2xx within ${timeoutMs} ms (last attempt: ${last})${tailOut}`);
    }
    await sleep(interval);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
