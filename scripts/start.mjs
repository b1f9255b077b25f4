// `npm start`: installs dependencies if needed, builds what changed, and starts the service with the
// in-process store and the example overrides file (override anything with env vars or flags:
// npm start -- --help).
//
// Each build (the service with tsc into dist/, the admin UI with vite into ui/dist/) is skipped when its
// inputs are exactly as they were when it last succeeded. The record is a fingerprint of every input's path,
// size and mtime, taken before the build starts and written into the output directory once it succeeded:
// any edit, new, deleted or renamed file (even one changed while the build ran) rebuilds, a failed or
// interrupted build leaves no record, and deleting the output rebuilds it.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNpmDependencies } from './ensure-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
// --help only prints the settings: it needs the service's code, never the UI.
const helpOnly = args.includes('--help') || args.includes('-h');
const STAMP = '.start-build-fingerprint';

/** Every file and directory under `relative` (or the file itself), as "path size mtime" lines, sorted. */
function describe(relative, lines) {
  const full = join(root, relative);
  let st;
  try {
    st = statSync(full, { bigint: true });
  } catch {
    lines.push(`${relative} missing`);
    return;
  }
  lines.push(`${relative} ${st.size} ${st.mtimeNs}`);
  if (!st.isDirectory()) return;
  for (const name of readdirSync(full).sort()) describe(join(relative, name), lines);
}

function fingerprint(inputs) {
  const lines = [];
  for (const input of inputs) describe(input, lines);
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/** Runs `build` unless the fingerprint of `inputs` matches the one stored beside the last good output. */
function buildIfChanged({ name, outDir, marker, inputs, build }) {
  const stamp = join(root, outDir, STAMP);
  const before = fingerprint(inputs);
  let reason = 'no previous build';
  if (existsSync(join(root, outDir, marker)) && existsSync(stamp)) {
    if (readFileSync(stamp, 'utf8').trim() === before) {
      console.log(`> ${name} (${outDir}/) is up to date: not rebuilt`);
      return;
    }
    reason = `something in ${inputs.join(', ')} changed since the last build`;
  }
  console.log(`> building ${name} into ${outDir}/ (${reason})`);
  try {
    build();
  } catch {
    // tsc writes its output even when it reports errors: with no record, the next start builds again.
    console.error(`> building ${name} failed (errors above): not starting`);
    process.exit(1);
  }
  writeFileSync(stamp, `${before}\n`);
}

ensureNpmDependencies();
// package.json and package-lock.json are inputs of both: "type" decides the module format, and a new
// TypeScript, vite or type package can change the output.
buildIfChanged({
  name: 'the service',
  outDir: 'dist',
  marker: join('src', 'cli.js'),
  inputs: ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'],
  build: () =>
    execFileSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      { cwd: root, stdio: 'inherit' },
    ),
});
if (!helpOnly)
  buildIfChanged({
    name: 'the admin UI',
    outDir: join('ui', 'dist'),
    marker: 'index.html',
    inputs: [
      join('ui', 'src'),
      join('ui', 'public'),
      join('ui', 'index.html'),
      join('ui', 'vite.config.ts'),
      join('ui', 'tsconfig.json'),
      'package.json',
      'package-lock.json',
    ],
    build: () => execFileSync('npm', ['run', '--silent', 'build:ui'], { cwd: root, stdio: 'inherit' }),
  });

const env = { ...process.env };
env.OVERRIDES_FILE ??= join(root, 'examples', 'overrides.yaml');
// --no-memory-reducer, as in the Dockerfile: see there (V8 refuses it in NODE_OPTIONS).
const nodeFlags = ['--no-memory-reducer'];
// stdout comes through this process so that the generated admin token, once logged, is also shown as a block
// of its own: in a terminal full of npm's and the build's output, a log line is easy to miss.
const child = spawn(process.execPath, [...nodeFlags, join(root, 'dist', 'src', 'cli.js'), ...args], {
  cwd: root,
  env,
  stdio: ['inherit', 'pipe', 'inherit'],
});
child.stdout.pipe(process.stdout);
// Only the service's own lines count, never text a client put into a log line (a label value in a denial, say):
// the token line is the one logged right after the listening line, both recognised by their message at the
// place the message starts (after the level in LOG_FORMAT=text, as the last field in JSON, where a client's
// quotes are escaped), and nothing is looked at after it.
const MESSAGE = String.raw`(?:^\S+ (?:INFO|WARN) {2}|"msg":")`;
const LISTENING = new RegExp(`${MESSAGE}mimir-edge-enforcement \\S+ listening on `);
const TOKEN = new RegExp(
  `${MESSAGE}no ADMIN_TOKEN or ADMIN_TOKENS_FILE set: generated admin token ([A-Za-z0-9_-]+) \\(shown once; [^)]*\\)\\. Open (\\S+) and paste it`,
);
let pending = '';
let listening = false;
const stopWatching = () => {
  child.stdout.off('data', watchForToken);
  pending = '';
};
function watchForToken(chunk) {
  pending += chunk.toString('utf8');
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  // The lines looked for are a few hundred bytes: do not keep an unending one.
  if (pending.length > 65536) pending = '';
  for (const line of lines) {
    if (!listening) {
      listening = LISTENING.test(line);
      continue;
    }
    const found = TOKEN.exec(line);
    if (found) {
      const rule = '-'.repeat(72);
      // pipe() wrote this chunk to stdout already (its listener came first): the block follows the log line.
      process.stdout.write(
        `\n${rule}\n` +
          `  Admin token (generated, shown once):  ${found[1]}\n` +
          `  Open ${found[2]} and paste it.\n` +
          `  Set ADMIN_TOKEN to choose your own.\n` +
          `${rule}\n\n`,
      );
    }
    stopWatching();
    return;
  }
}
child.stdout.on('data', watchForToken);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
// 'close', not 'exit': the child's last output is still in the pipe when it exits.
child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
