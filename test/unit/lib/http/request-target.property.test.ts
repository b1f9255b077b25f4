// The request-target canonicaliser (src/lib/http/request-target.ts) under random spellings: it is idempotent,
// its output has nothing left to normalise, and every spelling a lenient upstream (Go's router decodes the
// whole path and cleans it) would read as a remote-write path is either that write path or refused.

import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestTargets, canonicalPath, isRefusedTarget } from '../../../../src/lib/http/request-target.js';

const WRITE_PATHS = ['/api/v1/push', '/api/v1/write', '/otlp/v1/metrics'];
const targets = new RequestTargets(WRITE_PATHS);

/** How a lenient upstream reads a path: every escape decoded, `\` as `/`, slashes merged, dots resolved. */
function lenientPath(raw: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  const clean = posix.normalize(decoded.replace(/\\/g, '/'));
  return clean.length > 1 && clean.endsWith('/') ? clean.slice(0, -1) : clean;
}

const hex = (c: string): string => '%' + c.charCodeAt(0).toString(16).padStart(2, '0');

/** One character spelled literally, or percent-encoded in upper or lower case hex. */
const spellChar = (c: string): fc.Arbitrary<string> =>
  fc.constantFrom(c, hex(c).toUpperCase(), hex(c).toLowerCase());

/** One separator: `/`, `//`, `/./`, `/x/../`, or (for the lenient reading) an encoded `/` or a `\`. */
const separator = fc.constantFrom('/', '//', '/./', '/zz/../', '/%2F', '%2f', '\\', '/');

/** A random spelling of `path` (which starts with `/`). */
function spelling(path: string): fc.Arbitrary<string> {
  const segments = path.split('/').slice(1);
  const parts: fc.Arbitrary<string>[] = [];
  for (const seg of segments) {
    parts.push(separator);
    for (const c of seg) parts.push(spellChar(c));
  }
  return fc
    .tuple(fc.tuple(...parts), fc.constantFrom('', '/', '//', '/.'))
    .map(
      ([p, tail]) =>
        (p[0] === '/' || p[0] === '//' || p[0] === '/./' || p[0] === '/zz/../' ? '' : '/') +
        p.join('') +
        tail,
    );
}

const segmentChar = fc.constantFrom(..."abcxyz019-._~%!$&'()*+,;=:@".split(''));
const randomPath = fc
  .array(fc.string({ unit: segmentChar, maxLength: 6 }), { minLength: 1, maxLength: 5 })
  .map((segs) => '/' + segs.join('/'));
const anyTarget = fc.oneof(
  fc.constantFrom(...WRITE_PATHS).chain(spelling),
  randomPath.chain(spelling),
  randomPath,
  fc.string({ maxLength: 20 }),
);

describe('request-target canonicaliser', () => {
  it('is idempotent: the canonical target resolves to itself', () => {
    fc.assert(
      fc.property(anyTarget, fc.constantFrom('', '?a=%2F&b=1'), (path, query) => {
        const first = targets.resolve(path + query);
        if (isRefusedTarget(first)) return;
        const second = targets.resolve(first.target);
        expect(second).toEqual(first);
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves nothing to normalise: no empty, "." or ".." segment, no encoded unreserved character', () => {
    fc.assert(
      fc.property(anyTarget, (path) => {
        const c = canonicalPath(path);
        if (c === undefined) return;
        expect(c.startsWith('/')).toBe(true);
        if (c !== '/') expect(c.slice(1, c.endsWith('/') ? -1 : undefined).split('/')).not.toContain('');
        expect(c.split('/')).not.toContain('.');
        expect(c.split('/')).not.toContain('..');
        expect(c).not.toMatch(/%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DdEe]|5[Ff]|7[Ee])/);
        expect(c).not.toMatch(/%[0-9A-F]?[a-f]/);
      }),
      { numRuns: 3000 },
    );
  });

  it('never lets a spelling that a lenient upstream reads as a write path pass unmeasured', () => {
    fc.assert(
      fc.property(fc.constantFrom(...WRITE_PATHS).chain(spelling), (raw) => {
        const lenient = lenientPath(raw);
        const resolved = targets.resolve(raw);
        if (lenient !== undefined && WRITE_PATHS.includes(lenient)) {
          // Measured as that very write path, and forwarded as it, or refused outright.
          if (!isRefusedTarget(resolved)) {
            expect(resolved.writePath).toBe(lenient);
            expect(resolved.target).toBe(lenient);
          }
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('decoding the canonical form never reads as a different write path than the canonical form says', () => {
    fc.assert(
      fc.property(anyTarget, (raw) => {
        const resolved = targets.resolve(raw);
        if (isRefusedTarget(resolved)) return;
        const lenient = lenientPath(resolved.path);
        if (lenient !== undefined && WRITE_PATHS.includes(lenient)) expect(resolved.writePath).toBe(lenient);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses targets that are not origin-form, fragments and malformed escapes', () => {
    for (const t of ['*', 'http://x/api/v1/push', 'x/api/v1/push', '', '/api/v1/push#f', '/a%zz', '/a%4'])
      expect(isRefusedTarget(targets.resolve(t))).toBe(true);
  });

  it('keeps encoded slashes outside the write paths (label values) and the query as sent', () => {
    expect(targets.resolve('/prometheus/api/v1/label/a%2fb/values?x=%70')).toEqual({
      path: '/prometheus/api/v1/label/a%2Fb/values',
      target: '/prometheus/api/v1/label/a%2Fb/values?x=%70',
      writePath: undefined,
    });
    expect(targets.resolve('/api/v1/push/?a=1')).toEqual({
      path: '/api/v1/push',
      target: '/api/v1/push?a=1',
      writePath: '/api/v1/push',
    });
    expect(targets.resolve('/api/v1/query/')).toMatchObject({ path: '/api/v1/query/', writePath: undefined });
  });
});
