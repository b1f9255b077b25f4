// Installs the npm dependencies when they are missing or older than package-lock.json, so `npm start`
// and `npm test` work on a fresh clone. Uses only Node's standard library.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const installed = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

export function ensureNpmDependencies() {
  if (!existsSync(installed)) {
    console.log('> installing npm dependencies (npm ci)');
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
    return;
  }
  // Installed already: only fill in what package-lock.json adds, never wipe a working node_modules.
  if (statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  // A checkout or a pull gives package-lock.json a new mtime without changing what it pins: compare the
  // contents (a few ms) before asking npm (about a second).
  if (installedMatchesLock()) return;
  try {
    execFileSync('npm', ['ls', '--depth=0', '--silent'], { cwd: root, stdio: 'ignore' });
  } catch {
    console.log('> installing npm dependencies added to package-lock.json (npm install)');
    execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  }
}

/**
 * True when npm's record of what it installed (node_modules/.package-lock.json) pins every package of
 * package-lock.json at the same version and tarball. Optional packages may be absent (npm skips the ones for
 * other platforms), but when present they must match too.
 */
export function installedMatchesLock(lockFile = lock, installedFile = installed) {
  let wanted;
  let have;
  try {
    wanted = JSON.parse(readFileSync(lockFile, 'utf8')).packages;
    have = JSON.parse(readFileSync(installedFile, 'utf8')).packages;
  } catch {
    return false;
  }
  if (!wanted || !have) return false;
  for (const [path, entry] of Object.entries(wanted)) {
    if (path === '') continue; // the project itself
    const got = have[path];
    if (!got) {
      if (entry.optional) continue;
      return false;
    }
    if (got.version !== entry.version || got.resolved !== entry.resolved || got.integrity !== entry.integrity)
      return false;
  }
  return true;
}

/** Makes sure a Debian binary exists, installing its package when running as root; otherwise says what to install. */
export function ensureDebianBinary(binary, pkg) {
  const found = (() => {
    try {
      return execFileSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(`${binary} is missing: install Debian's package with "sudo apt-get install -y ${pkg}"`);
  }
  console.log(`> installing Debian package ${pkg} (for ${binary})`);
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '-q', pkg], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
    install();
  }
  return execFileSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).trim();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureNpmDependencies();
