// FreshRead: a reload asked for while a read is in flight must see what was written after that read began
// (an edit, then SIGHUP, while a poll is reading), and overlapping calls must not pile up reads.
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FreshRead } from '../../../src/limits/fresh-read.js';

describe('FreshRead', () => {
  it('gives a call made during a read the content written after that read began', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'fresh-read-')), 'f');
    await writeFile(file, 'old');
    let reads = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const reader = new FreshRead(async () => {
      reads++;
      const text = await readFile(file, 'utf8');
      if (reads === 1) await gate; // the poll's read is slow to finish
      return text;
    });
    const poll = reader.run();
    await new Promise((resolve) => setTimeout(resolve, 20)); // the poll has read 'old'
    await writeFile(file, 'new');
    const sighup = reader.run();
    const another = reader.run();
    release();
    expect(await poll).toBe('old');
    expect(await sighup).toBe('new');
    expect(await another).toBe('new');
    expect(reads, 'calls during one read share one more read').toBe(2);
  });

  it('runs again after a read that failed, and passes the failure to its own caller only', async () => {
    let reads = 0;
    const reader = new FreshRead(async () => {
      reads++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (reads === 1) throw new Error('unreadable');
      return reads;
    });
    const first = reader.run();
    const second = reader.run();
    await expect(first).rejects.toThrow('unreadable');
    expect(await second).toBe(2);
  });
});
