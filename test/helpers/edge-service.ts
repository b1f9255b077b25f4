// Starts the service in this process on random ports, with a silent logger, for integration tests.

import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../../src/config/settings.js';
import { createLogger } from '../../src/server/logger.js';
import { startService } from '../../src/server/service.js';
import type { RunningService } from '../../src/server/service.js';

export interface EdgeUnderTest {
  service: RunningService;
  proxyUrl: string;
  adminUrl: string;
  metricsUrl: string;
  overridesFile: string;
  writeOverrides(yaml: string): void;
  stop(): Promise<void>;
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
      ...env,
    },
    [],
  );
  const service = await startService(settings, {
    log: createLogger('silent', 'json'),
    ...(now ? { now } : {}),
  });
  return {
    service,
    proxyUrl: `http://127.0.0.1:${service.proxyPort}`,
    adminUrl: `http://127.0.0.1:${service.adminPort}`,
    metricsUrl: `http://127.0.0.1:${service.metricsPort}/metrics`,
    overridesFile,
    writeOverrides: (yaml) => writeFileSync(overridesFile, yaml),
    stop: () => service.stop(1000),
  };
}
