// Runs a TypeScript benchmark as compiled JavaScript on plain `node`, the way the service itself runs.
// Usage: node scripts/run-compiled.mjs bench/formats.ts [args...]
//
// Why not tsx: a loader that registers module hooks (tsx does) talks to its hooks thread with transferred
// ArrayBuffers. The first transfer detaches a buffer, which turns off V8's ArrayBufferDetaching protector for
// the rest of the process, and from then on every typed-array read in optimized code also checks that its buffer
// is still attached. The byte scanners are nearly all typed-array reads: they measured 11-23% slower that way.
// The built service (`node dist/src/cli.js`) never detaches a buffer on its request paths, so a benchmark of the
// scanners must not either.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-compiled.mjs <file.ts> [args...]');
  process.exit(2);
}

// Inside node_modules so the bundle resolves the project's packages, which stay external.
const outDir = join(root, 'node_modules', '.cache', 'run-compiled');
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, basename(entry).replace(/\.ts$/, '.mjs'));
await build({
  entryPoints: [resolve(root, entry)],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});

// V8 prints each protector it turns off; the line is kept out of the benchmark's output and reported instead.
// Only a detach followed by more output counts: some bindings detach buffers as the process exits.
const DETACHING_TRACE = 'Invalidating protector cell ArrayBufferDetaching';
const child = spawn(
  process.execPath,
  ['--enable-source-maps', '--trace-protector-invalidation', outfile, ...args],
  { cwd: root, stdio: ['inherit', 'pipe', 'inherit'] },
);
let detachedAt = -1;
let linesOut = 0;
let pending = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  const lines = (pending + chunk).split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    if (line.startsWith(DETACHING_TRACE)) {
      if (detachedAt < 0) detachedAt = linesOut;
    } else if (!line.startsWith('Invalidating protector cell')) {
      process.stdout.write(line + '\n');
      linesOut++;
    }
  }
});
child.on('close', (code, signal) => {
  if (pending) {
    process.stdout.write(pending);
    linesOut++;
  }
  if (detachedAt >= 0 && detachedAt < linesOut) {
    console.error(
      `warning: an ArrayBuffer was detached after output line ${detachedAt}: typed-array reads from then on were slower than in the service`,
    );
  }
  process.exit(code ?? (signal ? 1 : 0));
});
