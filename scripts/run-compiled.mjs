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
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
/**
 * Each of the project's files keeps its own `import.meta.url` (benchmarks find the repository and the built service
 * from it); in one bundle they would all share the bundle's.
 */
const ownImportMetaUrl = {
  name: 'own-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

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
  plugins: [ownImportMetaUrl],
});

// V8 prints each protector it turns off; the line is kept out of the benchmark's output and reported instead,
// with the last line (stdout or stderr) before it, so the reader knows which phases ran after it. Only a detach
// followed by more output counts: some bindings detach buffers as the process exits.
const DETACHING_TRACE = 'Invalidating protector cell ArrayBufferDetaching';
const child = spawn(
  process.execPath,
  ['--enable-source-maps', '--trace-protector-invalidation', outfile, ...args],
  { cwd: root, stdio: ['inherit', 'pipe', 'pipe'] },
);
let lastLine = '(no output yet)';
let detachedAfter;
let outputAfterDetach = false;

function relay(stream, out) {
  let pending = '';
  stream.setEncoding('utf8');
  const emit = (line) => {
    if (line.startsWith(DETACHING_TRACE)) {
      detachedAfter ??= lastLine;
    } else if (!line.startsWith('Invalidating protector cell')) {
      out.write(line + '\n');
      lastLine = line;
      if (detachedAfter !== undefined) outputAfterDetach = true;
    }
  };
  stream.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    lines.forEach(emit);
  });
  stream.on('end', () => {
    if (pending) emit(pending);
  });
}
relay(child.stdout, process.stdout);
relay(child.stderr, process.stderr);

child.on('close', (code, signal) => {
  if (detachedAfter !== undefined && outputAfterDetach) {
    console.error(
      `warning: an ArrayBuffer was detached after "${detachedAfter.slice(0, 120)}": ` +
        'what ran in this process from then on read typed arrays more slowly than the service does',
    );
  }
  process.exit(code ?? (signal ? 1 : 0));
});
