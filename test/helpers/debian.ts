// Finds a binary that a Debian package provides, installing the package when the test runs as root.
// Synchronous so it can be called from beforeAll; otherwise fails with the exact `apt-get install` to run.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Returns the absolute path of `binary` on PATH (or the usual system directories), or undefined. */
export function findBinary(binary: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

interface AptResult {
  ok: boolean;
  output: string;
}

function apt(args: string[]): AptResult {
  try {
    const output = execFileSync('apt-get', args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { ok: true, output };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message ?? ''}` };
  }
}

/** apt-get's ways of saying that its package lists are missing or stale. */
function listsAreMissing(output: string): boolean {
  return /Unable to locate package|has no installation candidate|is not available|404\s+Not Found|Failed to fetch/i.test(
    output,
  );
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Returns the path of `binary`. If it is missing and we are root, runs `apt-get install -y <debPackage>`
 * (and `apt-get update` first only if the install failed for lack of package lists). Otherwise throws
 * an Error naming the Debian package to install.
 */
export function requireDebianBinary(binary: string, debPackage: string): string {
  const found = findBinary(binary);
  if (found !== undefined) return found;

  const howTo = `install the Debian package "${debPackage}" (as root: apt-get update && apt-get install -y ${debPackage})`;
  if (!isRoot()) {
    throw new Error(`"${binary}" is not installed and this test is not running as root: ${howTo}`);
  }

  // No recommends: e.g. prometheus recommends prometheus-node-exporter, a service this test does not need.
  const install = ['install', '-y', '--no-install-recommends', debPackage];
  let result = apt(install);
  if (!result.ok && listsAreMissing(result.output)) {
    const update = apt(['update']);
    if (!update.ok) {
      throw new Error(`"${binary}" is missing and "apt-get update" failed; ${howTo}\n${tail(update.output)}`);
    }
    result = apt(install);
  }
  if (!result.ok) {
    throw new Error(
      `"${binary}" is missing and "apt-get ${install.join(' ')}" failed; ${howTo}\n${tail(result.output)}`,
    );
  }

  const installed = findBinary(binary);
  if (installed === undefined) {
    throw new Error(
      `"apt-get ${install.join(' ')}" succeeded but "${binary}" is still not on PATH; ${howTo}`,
    );
  }
  return installed;
}
