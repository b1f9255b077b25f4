// scripts/ensure-deps.mjs decides from file contents whether node_modules holds what package-lock.json pins:
// a checkout that only gave package-lock.json a new mtime must not cost an npm call, and any real difference
// (a new package, another version or tarball) must still install.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/service.js';

type Packages = Record<string, Record<string, unknown>>;
let installedMatchesLock: (lockFile: string, installedFile: string) => boolean;
const dir = mkdtempSync(join(tmpdir(), 'ensure-deps-'));

beforeAll(async () => {
  const url = pathToFileURL(join(repoRoot, 'scripts', 'ensure-deps.mjs')).href;
  ({ installedMatchesLock } = (await import(url)) as { installedMatchesLock: typeof installedMatchesLock });
});

const pkg = (version: string, extra: Record<string, unknown> = {}) => ({
  version,
  resolved: `https://registry.npmjs.org/a/-/a-${version}.tgz`,
  integrity: `sha512-${version}`,
  ...extra,
});

function matches(lock: Packages, installed: Packages): boolean {
  const lockFile = join(dir, 'package-lock.json');
  const installedFile = join(dir, '.package-lock.json');
  writeFileSync(lockFile, JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'x' }, ...lock } }));
  writeFileSync(installedFile, JSON.stringify({ lockfileVersion: 3, packages: installed }));
  return installedMatchesLock(lockFile, installedFile);
}

describe('installedMatchesLock', () => {
  it('accepts node_modules that holds every pinned package, skipping optional ones for other platforms', () => {
    expect(
      matches(
        {
          'node_modules/a': pkg('1.0.0'),
          'node_modules/@esbuild/darwin-arm64': pkg('0.1.0', { optional: true }),
        },
        { 'node_modules/a': pkg('1.0.0') },
      ),
    ).toBe(true);
  });

  it('refuses a missing package, another version, another tarball, or a different optional one', () => {
    expect(
      matches(
        { 'node_modules/a': pkg('1.0.0'), 'node_modules/b': pkg('2.0.0') },
        { 'node_modules/a': pkg('1.0.0') },
      ),
    ).toBe(false);
    expect(matches({ 'node_modules/a': pkg('1.0.1') }, { 'node_modules/a': pkg('1.0.0') })).toBe(false);
    expect(
      matches(
        { 'node_modules/a': pkg('1.0.0') },
        { 'node_modules/a': pkg('1.0.0', { integrity: 'sha512-other' }) },
      ),
    ).toBe(false);
    expect(
      matches(
        { 'node_modules/o': pkg('1.0.1', { optional: true }) },
        { 'node_modules/o': pkg('1.0.0', { optional: true }) },
      ),
    ).toBe(false);
  });

  it('refuses an unreadable record rather than guessing', () => {
    expect(installedMatchesLock(join(dir, 'none.json'), join(dir, 'none.json'))).toBe(false);
  });
});
