// `engines` says Node >= 20, so an install on Node 20 must print no engine warning: every package in the lock
// file has to admit some Node 20 release. (cookie@2, via fastify's light-my-request, wants Node >= 22; the
// override in package.json keeps light-my-request on the 6.6 line, which uses cookie@1.)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/service.js';

/** Whether one alternative of an engines range ("^20.19.0", ">=18", "20", "~20.3") admits a Node 20.x. */
function admits20(alternative: string): boolean {
  const a = alternative.trim();
  if (a === '' || a === '*') return true;
  const lower = /^>=?\s*v?(\d+)/.exec(a);
  if (lower && !/<\s*20\b/.test(a)) return Number(lower[1]) <= 20;
  const exact = /^[\^~=]?\s*v?(\d+)/.exec(a);
  return exact !== null && Number(exact[1]) === 20;
}

describe('engines', () => {
  it('every package in package-lock.json runs on Node 20, as package.json promises', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toBe('>=20');
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }>;
    };
    const refusing = Object.entries(lock.packages)
      .filter(([, p]) => p.engines && !Array.isArray(p.engines) && p.engines.node)
      .filter(([, p]) => !(p.engines as { node: string }).node.split('||').some(admits20))
      .map(([name, p]) => `${name} wants node ${(p.engines as { node: string }).node}`);
    expect(refusing).toEqual([]);
  });
});
