// `npm start`: installs dependencies if needed, builds, and starts the service with the in-process store
// and the example overrides file (override anything with env vars or flags: npm start -- --help).
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNpmDependencies } from './ensure-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureNpmDependencies();
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
execFileSync('npm', ['run', 'build:ui'], { cwd: root, stdio: 'inherit' });
const env = { ...process.env };
env.OVERRIDES_FILE ??= join(root, 'examples', 'overrides.yaml');
// --no-memory-reducer, as in the Dockerfile: see there (V8 refuses it in NODE_OPTIONS).
const nodeFlags = ['--no-memory-reducer'];
const child = spawn(
  process.execPath,
  [...nodeFlags, join(root, 'dist', 'src', 'cli.js'), ...process.argv.slice(2)],
  {
    cwd: root,
    env,
    stdio: 'inherit',
  },
);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
