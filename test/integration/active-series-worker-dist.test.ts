// The active-series worker loads from compiled output, as `node dist/src/cli.js` runs it: the sources are compiled
// file by file to .js (the layout tsc gives dist/src/), and plain node (no tsx) starts the tracker there, which
// must find active-series-worker.js beside off-thread.js and have it read a write.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/service.js';

const dir = mkdtempSync(join(tmpdir(), 'as-worker-dist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('active-series worker from compiled output', () => {
  it('starts from the .js beside the tracker and reads a write', async () => {
    await build({
      entryPoints: sources(join(repoRoot, 'src')),
      outdir: join(dir, 'src'),
      outbase: join(repoRoot, 'src'),
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'error',
    });
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const script = join(dir, 'probe.mjs');
    writeFileSync(
      script,
      `
import snappy from 'snappy';
import { ActiveSeries } from './src/observe/active-series/active-series.js';
import { OffThreadActiveSeries, activeSeriesWorkerEntry } from './src/observe/active-series/off-thread.js';
import { decompressSnappyBlock } from './src/remote-write/index.js';
import { writeRequestType } from './test-body.mjs';
const entry = activeSeriesWorkerEntry();
const options = { windowMs: 1200000, maxTenants: 10, sampleEvery: 1, filterMaxBytes: 65536, refreshMs: 10000, queueBytes: 1 << 20 };
const now = Date.now();
const tracker = new OffThreadActiveSeries(options, { main: new ActiveSeries(options), redis: undefined, now: () => now, log: (l, m, e) => console.error(l, m, e) });
const series = Array.from({ length: 250 }, (_, i) => ({ labels: [{ name: '__name__', value: 'up' }, { name: 'pod', value: 'p' + i }], samples: [{ value: 1, timestamp: now }] }));
const wire = snappy.compressSync(Buffer.from(writeRequestType.encode({ timeseries: series }).finish()));
tracker.observe('t', decompressSnappyBlock(wire, 1 << 24), 'prw1', now, false, wire);
await tracker.sync();
console.log(JSON.stringify({ entry: entry.url.href, tsx: entry.tsx ?? false, active: tracker.snapshot('t', 0, now)?.activeSeries }));
await tracker.close();
`,
    );
    writeFileSync(
      join(dir, 'test-body.mjs'),
      `import protobuf from 'protobufjs';
const root = protobuf.Root.fromJSON({ nested: { WriteRequest: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } } },
  TimeSeries: { fields: { labels: { rule: 'repeated', type: 'Label', id: 1 }, samples: { rule: 'repeated', type: 'Sample', id: 2 } } },
  Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
  Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } } } });
export const writeRequestType = root.lookupType('WriteRequest');
`,
    );
    const out = execFileSync(process.execPath, [script], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
      timeout: 30_000,
    });
    const result = JSON.parse(out.trim().split('\n').pop()!) as {
      entry: string;
      tsx: boolean;
      active: number;
    };
    expect(result.entry).toBe(`file://${dir}/src/observe/active-series/active-series-worker.js`);
    expect(result.tsx).toBe(false);
    expect(result.active).toBeGreaterThan(245);
    expect(result.active).toBeLessThan(255);
  }, 60_000);
});
