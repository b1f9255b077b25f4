// Every err-mimir-* id a client can receive is explained in docs/errors.md: ids are the stable interface
// runbooks key on, so a new one without a docs entry is a defect.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

it('docs/errors.md names every err-mimir-* id the service sends', () => {
  const root = new URL('../../../', import.meta.url).pathname;
  const ids = new Set<string>();
  for (const file of sourceFiles(join(root, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/err-mimir-[a-z0-9-]+[a-z0-9]/g)) ids.add(m[0]);
  }
  const docs = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  expect(ids.size).toBeGreaterThan(10);
  expect([...ids].filter((id) => !docs.includes(id))).toEqual([]);
});
