// The first thing a new operator reads: the start banner names the admin UI at an address a browser can
// open (localhost for a wildcard bind, never http://0.0.0.0), next to the generated token.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startService } from '../helpers/service.js';
import type { ServiceInstance } from '../helpers/service.js';

let upstream: RecordingUpstream;
let service: ServiceInstance;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  const overridesFile = join(mkdtempSync(join(tmpdir(), 'banner-')), 'overrides.yaml');
  writeFileSync(overridesFile, 'overrides: {}\n');
  service = await startService({
    upstreamUrl: upstream.url,
    overridesFile,
    env: { BIND_ADDRESS: '0.0.0.0', ADMIN_TOKEN: '', ADMIN_TOKENS_FILE: '', LOG_FORMAT: 'json' },
  });
});

afterAll(async () => {
  await service?.stop();
  await upstream?.close();
});

describe('start banner', () => {
  it('names the admin UI as http://localhost:<port>/ui/ beside the generated token, not 0.0.0.0', async () => {
    const port = new URL(service.adminUrl).port;
    const ui = `http://localhost:${port}/ui/`;
    const deadline = Date.now() + 5000;
    while (!service.output().includes('generated admin token') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = service.output().split('\n');
    const token = lines.find((l) => l.includes('generated admin token'));
    expect(token, service.output()).toBeDefined();
    expect(token).toContain(`Open ${ui} and paste it`);
    const listening = lines.find((l) => l.includes('listening on'));
    expect(listening).toContain(`admin UI at ${ui}`);
    expect(service.output()).not.toContain('http://0.0.0.0');
  });
});
