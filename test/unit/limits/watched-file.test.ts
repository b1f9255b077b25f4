// WatchedFile, the one watcher of configuration files (overrides, POLICY_FILE, RATELIMIT_CONFIG), on real files:
// new content goes to the parser once, refused or unreadable content leaves the last good in force and is
// reported as the owners need, a directory is read as its YAML files, and statFirst skips unchanged files.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/lib/config-error.js';
import type { FileText, WatchedFileOptions } from '../../../src/limits/watched-file.js';
import { WatchedFile, readSourceFiles } from '../../../src/limits/watched-file.js';

/** A parser that accepts any text but "bad", and records what it was given. */
function harness(path: string, options: Partial<WatchedFileOptions> = {}) {
  const parsed: string[] = [];
  const reports: string[] = [];
  let inForce = '';
  const watched = new WatchedFile(
    path,
    (files: readonly FileText[]) => {
      const text = files.map((f) => f.text).join('+');
      parsed.push(text);
      if (text.includes('bad')) throw new ConfigError(path, '', `refused ${text}`);
      inForce = text;
      return `now ${text}`;
    },
    {
      label: 'test file',
      onResult: (result, detail, checksum, repeated) =>
        reports.push(
          `${result}${repeated ? ' (repeated)' : ''}: ${detail}${checksum ? '' : ' [no checksum]'}`,
        ),
      ...options,
    },
  );
  return { watched, parsed, reports, inForce: () => inForce };
}

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'watched-file-'));

describe('WatchedFile, one file', () => {
  it('applies new content, refuses bad content once and keeps the last good, and recovers', async () => {
    const file = join(tempDir(), 'limits.yaml');
    writeFileSync(file, 'a');
    const h = harness(file);
    expect(await h.watched.loadInitial()).toMatchObject({ detail: 'now a' });
    expect(h.reports).toEqual([]); // at start the caller reports

    expect(await h.watched.reload()).toBe('unchanged');
    writeFileSync(file, 'b');
    expect(await h.watched.reload()).toBe('applied');
    expect(h.inForce()).toBe('b');

    writeFileSync(file, 'bad');
    expect(await h.watched.reload()).toBe('error');
    expect(await h.watched.reload()).toBe('error');
    expect(h.inForce()).toBe('b');
    expect(h.parsed).toEqual(['a', 'b', 'bad']); // the same refused content is not parsed again
    expect(h.watched.status.lastError?.message).toContain('refused bad');

    writeFileSync(file, 'b');
    expect(await h.watched.reload()).toBe('unchanged');
    expect(h.watched.status.lastError).toBeUndefined();
    expect(h.reports).toEqual(['applied: now b', expect.stringMatching(/^error: .*refused bad$/)]);
  });

  it('reports an unreadable file on every read, flagged repeated, and refuses it at start', async () => {
    const dir = tempDir();
    const file = join(dir, 'limits.yaml');
    await expect(harness(file).watched.loadInitial()).rejects.toThrow(
      new ConfigError(file, '', 'cannot read the test file: ENOENT'),
    );
    writeFileSync(file, 'a');
    const h = harness(file);
    await h.watched.loadInitial();
    rmSync(file);
    expect(await h.watched.reload()).toBe('error');
    expect(await h.watched.reload()).toBe('error');
    expect(h.inForce()).toBe('a');
    expect(h.reports).toEqual([
      `error: ${file}: cannot read the test file: ENOENT [no checksum]`,
      `error (repeated): ${file}: cannot read the test file: ENOENT [no checksum]`,
    ]);
    writeFileSync(file, 'a');
    expect(await h.watched.reload()).toBe('unchanged');
    expect(h.watched.status.lastError).toBeUndefined();
  });

  it('lets an error that is not a refusal propagate: a bug is not bad content', async () => {
    const file = join(tempDir(), 'limits.yaml');
    writeFileSync(file, 'a');
    const watched = new WatchedFile(
      file,
      ([f]) => {
        if (f!.text === 'boom') throw new TypeError('bug');
        return 'ok';
      },
      { label: 'test file', isRefusal: (err) => err instanceof ConfigError },
    );
    await watched.loadInitial();
    writeFileSync(file, 'boom');
    await expect(watched.reload()).rejects.toThrow(TypeError);
  });

  it('a reload asked for during a read sees the content written after that read began', async () => {
    const file = join(tempDir(), 'limits.yaml');
    writeFileSync(file, 'a');
    const h = harness(file);
    await h.watched.loadInitial();
    writeFileSync(file, 'b');
    const first = h.watched.reload();
    writeFileSync(file, 'c');
    const second = h.watched.reload();
    await Promise.all([first, second]);
    expect(h.inForce()).toBe('c');
  });
});

describe('WatchedFile, a directory (sync, statFirst)', () => {
  it('reads the YAML files in name order as one content, and reads only when a file changed', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'b.yml'), 'B');
    writeFileSync(join(dir, 'a.yaml'), 'A');
    writeFileSync(join(dir, '.hidden.yaml'), 'H');
    writeFileSync(join(dir, 'notes.txt'), 'T');
    const h = harness(dir, { directories: true, statFirst: true, sync: true });
    h.watched.loadInitialSync();
    expect(h.inForce()).toBe('A+B');
    expect(h.watched.status.files).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yml')]);
    expect(readSourceFiles(dir, 'test file', true).map((f) => f.text)).toEqual(['A', 'B']);

    expect(h.watched.reloadSync()).toBe('unchanged');
    expect(h.parsed).toEqual(['A+B']);

    // A file renamed into place: a new inode even within one mtime tick.
    writeFileSync(join(dir, 'next'), 'A2');
    renameSync(join(dir, 'next'), join(dir, 'a.yaml'));
    expect(h.watched.reloadSync()).toBe('applied');
    expect(h.inForce()).toBe('A2+B');

    writeFileSync(join(dir, 'c.yaml'), 'bad');
    expect(h.watched.reloadSync()).toBe('error');
    expect(h.watched.reloadSync()).toBe('error');
    expect(h.reports).toEqual(['applied: now A2+B', expect.stringMatching(/^error: .*refused A2\+B\+bad$/)]);
    expect(h.inForce()).toBe('A2+B');
  });
});
