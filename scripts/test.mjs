// The whole test suite, as CI runs it: dependencies, format, lint, types, build, then every test
// (unit, property, integration over real sockets, end to end with Debian's prometheus).
// Usage: npm test [-- vitest filters]
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianBinary, ensureNpmDependencies } from './ensure-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (title, cmd, args) => {
  console.log(`\n> ${title}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
};

try {
  ensureNpmDependencies();
  ensureDebianBinary('prometheus', 'prometheus');
  ensureDebianBinary('redis-server', 'redis-server');
  ensureDebianBinary('redis-sentinel', 'redis-sentinel');
  ensureDebianBinary('nginx', 'nginx-light');
  ensureDebianBinary('chromium', 'chromium');
  ensureDebianBinary('openssl', 'openssl');
  run('format (prettier --check)', 'npx', ['prettier', '--check', '.']);
  run('lint (eslint)', 'npx', ['eslint', '.']);
  run('types (tsc --noEmit)', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
  run('build', 'npx', ['tsc', '-p', 'tsconfig.build.json']);
  run('build the admin UI', 'npm', ['run', 'build:ui']);
  run('tests (vitest)', 'npx', ['vitest', 'run', ...process.argv.slice(2)]);
} catch (err) {
  console.error(`\ntest run failed: ${err.message.split('\n')[0]}`);
  process.exit(1);
}
