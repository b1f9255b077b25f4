// Starts the service in this process on random ports, with a silent logger, for integration tests.

import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadSettings } from '../../src/settings/settings.js';
import { createLogger } from '../../src/observe/logger.js';
import { startService } from '../../src/app/service.js';
import type { RunningService } from '../../src/app/service.js';

/** The admin token every edge started here accepts (admin role); tests send it as a bearer token. */
export const EDGE_ADMIN_TOKEN = 'edge-test-admin-token';

export interface EdgeUnderTest {
  service: RunningService;
  proxyUrl: string;
  adminUrl: string;
  metricsUrl: string;
  /** 127.0.0.1:<port> of the ext_authz and rate limit gRPC listeners. */
  extAuthzAddress: string;
  ratelimitAddress: string;
  /** `Authorization: Bearer` header for the admin API (admin role). */
  adminHeaders: { authorization: string };
  overridesFile: string;
  writeOverrides(yaml: string): void;
  /**
   * The service's last log lines (text format; at the LOG_LEVEL given in `env`, warn by default), for a
   * failing test to show what the service saw. EDGE_TEST_LOG=<level> also prints them to stderr.
   */
  logs(): string;
  stop(): Promise<void>;
}

const KEPT_LOG_LINES = 200;

/** A destination that keeps the last lines written to it. */
function logTail(echo: boolean): { stream: Writable; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = chunk.toString('utf8');
      if (echo) process.stderr.write(text);
      for (const line of text.split('\n')) if (line) lines.push(line);
      if (lines.length > KEPT_LOG_LINES) lines.splice(0, lines.length - KEPT_LOG_LINES);
      done();
    },
  });
  return { stream, text: () => lines.join('\n') };
}

export async function startEdge(
  upstreamUrl: string,
  env: Record<string, string> = {},
  overridesYaml = 'overrides: {}\n',
  now?: () => number,
): Promise<EdgeUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-test-'));
  const overridesFile = join(dir, 'overrides.yaml');
  writeFileSync(overridesFile, overridesYaml);
  const settings = loadSettings(
    {
      UPSTREAM_URL: upstreamUrl,
      OVERRIDES_FILE: overridesFile,
      BIND_ADDRESS: '127.0.0.1',
      PROXY_PORT: '0',
      ADMIN_PORT: '0',
      METRICS_PORT: '0',
      EXT_AUTHZ_PORT: '0',
      RATELIMIT_PORT: '0',
      ADMIN_TOKEN: EDGE_ADMIN_TOKEN,
      ...env,
    },
    // No upstream health probe unless a test asks for one: it would add GET /ready to upstreams that
    // count the requests they receive.
    !env.UPSTREAM_HEALTH_PATH && env.UPSTREAM_HEALTH_INTERVAL === undefined
      ? ['--upstream-health-path=']
      : [],
  );
  const echo = process.env['EDGE_TEST_LOG'];
  const tail = logTail(echo !== undefined && echo !== '');
  const service = await startService(settings, {
    log: createLogger(echo || env['LOG_LEVEL'] || 'warn', 'text', tail.stream),
    ...(now ? { now } : {}),
  });
  return {
    service,
    proxyUrl: `http://127.0.0.1:${service.proxyPort}`,
    adminUrl: `http://127.0.0.1:${service.adminPort}`,
    metricsUrl: `http://127.0.0.1:${service.metricsPort}/metrics`,
    extAuthzAddress: `127.0.0.1:${service.extAuthzPort}`,
    ratelimitAddress: `127.0.0.1:${service.ratelimitPort}`,
    adminHeaders: { authorization: `Bearer ${EDGE_ADMIN_TOKEN}` },
    overridesFile,
    writeOverrides: (yaml) => writeFileSync(overridesFile, yaml),
    logs: tail.text,
    stop: () => service.stop(1000),
  };
}
