// The edge's own files under STATE_DIR (limits state, config history, audit log) and how they are written.
// They hold who changed which limit and why, so they are private to the edge's user: files are created 0600
// and a directory the edge creates is 0700. A whole-file rewrite is atomic: write a temporary file beside
// the target (0600, so the rename keeps that mode), fsync it, rename it over the target, fsync the directory.

import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Mode of every file the edge creates: read and write for its own user only. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of every directory the edge creates (an existing directory keeps its mode). */
export const PRIVATE_DIR_MODE = 0o700;

/** Creates `dir` (and missing parents) 0700; an existing directory is left as it is. */
export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** Appends `text` and flushes it to disk; a file created here is 0600. */
export async function appendPrivate(path: string, text: string): Promise<void> {
  await appendFile(path, text, { flush: true, mode: PRIVATE_FILE_MODE });
}

export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // 'wx': the name is random, and never follows a link someone placed there.
    const file = await open(temp, 'wx', PRIVATE_FILE_MODE);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  // The rename itself is only durable once the directory entry is.
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
