// LOG_FORMAT=text: whatever a client puts in a logged value (a label name inside a denial message, a tenant,
// a path), one event is one line and no field can be forged.
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger, formatTextLine } from '../../../src/observe/logger.js';

function capture(): { stream: Writable; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { stream, lines: () => text.split('\n').filter((l) => l !== '') };
}

/** The line with its JSON-quoted strings removed: what a key=value parser would take as fields. */
const outsideQuotes = (line: string): string => line.replace(/"(?:[^"\\]|\\.)*"/g, '""');

const FORGED = 'x\n2026-01-01T00:00:00.000Z ERROR forged level=error tenant=admin';

describe('text log renderer', () => {
  it('keeps a message holding a newline and a forged level=error on one line', () => {
    const out = capture();
    const log = createLogger('info', 'text', out.stream);
    log.info({ tenant: 'team-a', label: FORGED }, `received a series with label {${FORGED}="v"}`);
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\S+ INFO {2}/);
    expect(outsideQuotes(lines[0]!), 'no forged field outside a quoted string').not.toMatch(
      /level=error|ERROR/,
    );
    expect(lines[0]).toContain('\\n');
  });

  it('escapes carriage returns, other control characters and Unicode line separators in values and keys', () => {
    const out = capture();
    const log = createLogger('info', 'text', out.stream);
    log.info(
      { v: 'a\rb\u001b[31mc\u2028d\u2029e', ['k\nlevel']: 'x', q: 'say "hi"', eq: 'a=b' },
      'm\r\u0085n',
    );
    const [line, ...more] = out.lines();
    expect(more).toEqual([]);
    // eslint-disable-next-line no-control-regex
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(line).toContain('v="a\\rb\\u001b[31mc\\u2028d\\u2029e"');
    expect(line).toContain('"k\\nlevel"=x');
    expect(line).toContain('q="say \\"hi\\""');
    expect(line).toContain('eq="a=b"');
  });

  it('prints plain values bare, as before', () => {
    const out = capture();
    createLogger('info', 'text', out.stream).info({ tenant: 'team-a', status: 429 }, 'denied');
    expect(out.lines()[0]).toMatch(/ INFO {2}denied tenant=team-a status=429$/);
  });

  it('property: any message, key and value renders to exactly one line without raw control characters', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }),
        (msg, k, v) => {
          const event = JSON.stringify({ level: 'info', time: 0, msg, [k]: v });
          const line = formatTextLine(event);
          expect(line.endsWith('\n')).toBe(true);
          // eslint-disable-next-line no-control-regex
          expect(line.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
        },
      ),
    );
  });
});
