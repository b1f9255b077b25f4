// Starts the service under test (`node dist/src/cli.js`, built first if missing) as a child process on
// free 127.0.0.1 ports, configured through its environment variables, and waits for its health check.
// Returns its URLs, its captured output for failure messages, and a stop() that ends it by PID.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, waitForHttp } from './child-process.js';
import type { ManagedProcess } from './child-process.js';
import { freePorts } from './ports.js';
import { scrapeMetrics } from './prometheus.js';
import type { MetricSample } from './prometheus.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = join(repoRoot, 'dist', 'src', 'cli.js');

export interface ServiceOptions {
  /** Base URL requests are forwarded to (UPSTREAM_URL). */
  upstreamUrl: string;
  /** Mimir runtime-overrides YAML file (OVERRIDES_FILE). */
  overridesFile: string;
  /** TENANT_FROM_BASIC_AUTH (default true). */
  tenantFromBasicAuth?: boolean;
  /** OVERRIDES_RELOAD_INTERVAL (default 200ms). */
  overridesReloadInterval?: string;
  /** LOG_LEVEL (default info). */
  logLevel?: string;
  /** More environment variables; they win over the ones above. */
  env?: Record<string, string>;
  startTimeoutMs?: number;
  /** Entry script to run instead of dist/src/cli.js. */
  entry?: string;
  /** Node.js flags, put before the entry script (V8 flags such as --trace-* are refused in NODE_OPTIONS). */
  nodeArgs?: string[];
}

export interface ServiceInstance {
  /** http://127.0.0.1:<PROXY_PORT>, where senders remote-write to. */
  readonly proxyUrl: string;
  /** http://127.0.0.1:<ADMIN_PORT> */
  readonly adminUrl: string;
  /** http://127.0.0.1:<METRICS_PORT>/metrics */
  readonly metricsUrl: string;
  readonly process: ManagedProcess;
  /** The last lines the service logged. */
  output(): string;
  /** Its /metrics page, parsed. */
  metrics(): Promise<MetricSample[]>;
  stop(): Promise<void>;
}

let built = false;

/** Builds dist/ with `npx tsc -p tsconfig.build.json` if dist/src/cli.js is missing (once per process). */
export function ensureBuilt(): void {
  if (built || existsSync(cliPath)) {
    built = true;
    return;
  }
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message?: string };
    throw new Error(
      `could not build the service (npx tsc -p tsconfig.build.json failed):\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message ?? ''}`,
      { cause: err },
    );
  }
  if (!existsSync(cliPath)) {
    throw new Error(`npx tsc -p tsconfig.build.json succeeded but ${cliPath} does not exist`);
  }
  built = true;
}

export async function startService(options: ServiceOptions): Promise<ServiceInstance> {
  const entry = options.entry ?? cliPath;
  if (options.entry === undefined) ensureBuilt();
  const [proxyPort, adminPort, metricsPort, extAuthzPort, ratelimitPort] = await freePorts(5);
  if (
    proxyPort === undefined ||
    adminPort === undefined ||
    metricsPort === undefined ||
    extAuthzPort === undefined ||
    ratelimitPort === undefined
  ) {
    throw new Error('could not find five free ports');
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    UPSTREAM_URL: options.upstreamUrl,
    OVERRIDES_FILE: options.overridesFile,
    PROXY_PORT: String(proxyPort),
    ADMIN_PORT: String(adminPort),
    METRICS_PORT: String(metricsPort),
    EXT_AUTHZ_PORT: String(extAuthzPort),
    RATELIMIT_PORT: String(ratelimitPort),
    BIND_ADDRESS: '127.0.0.1',
    TENANT_FROM_BASIC_AUTH: String(options.tenantFromBasicAuth ?? true),
    LOG_LEVEL: options.logLevel ?? 'info',
    OVERRIDES_RELOAD_INTERVAL: options.overridesReloadInterval ?? '200ms',
    ...options.env,
  };
  const proc = startProcess({
    name: 'service',
    command: process.execPath,
    // No upstream health probe unless the test sets one: its GET /ready would reach upstreams that count
    // the requests they receive. (An empty env var means "unset", so the flag carries the empty value.)
    args: [
      ...(options.nodeArgs ?? []),
      ...(options.env?.UPSTREAM_HEALTH_PATH ? [entry] : [entry, '--upstream-health-path=']),
    ],
    cwd: repoRoot,
    env,
    keepLines: 400,
  });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const stop = async (): Promise<void> => {
    await proc.stop(5000);
  };
  try {
    await waitForHttp(`${adminUrl}/api/health`, options.startTimeoutMs ?? 30_000, { process: proc });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    adminUrl,
    metricsUrl,
    process: proc,
    output: () => proc.output(),
    metrics: () => scrapeMetrics(metricsUrl),
    stop,
  };
}
