// The admin API's CSV export: RFC 4180 quoting and no cell a spreadsheet would run as a formula.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvCell, toCsv } from '../../../src/admin/csv.js';

/** A small RFC 4180 reader, to check that what we write reads back as the cells we meant. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('csvCell', () => {
  it('quotes commas, quotes and line breaks', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell(null)).toBe('');
  });

  it('defuses cells a spreadsheet would run as a formula', () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    // A valid Mimir tenant id may start with '-'.
    expect(csvCell("-team(a)'")).toBe("'-team(a)'");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('\rx')).toBe(`"'\rx"`);
  });

  it('keeps numbers as numbers, negative ones too', () => {
    expect(csvCell(-1.5)).toBe('-1.5');
    expect(csvCell(0.000001)).toBe('0.000001');
    expect(csvCell(true)).toBe('true');
  });
});

describe('toCsv', () => {
  it('writes a header and CRLF-ended rows', () => {
    expect(
      toCsv(
        ['tenant', 'cost'],
        [
          ['a', 1],
          ['b,c', 2],
        ],
      ),
    ).toBe('tenant,cost\r\na,1\r\n"b,c",2\r\n');
  });

  it('reads back as the cells written, with formula starts prefixed (property)', () => {
    const cell = fc.string({
      unit: fc.constantFrom('a', ',', '"', '\n', '\r', '=', '+', '-', '@', '\t', ' ', 'é'),
    });
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 2, maxLength: 2 }), { maxLength: 5 }), (rows) => {
        const back = parseCsv(toCsv(['x', 'y'], rows));
        expect(back[0]).toEqual(['x', 'y']);
        expect(back.length).toBe(rows.length + 1);
        rows.forEach((row, i) =>
          row.forEach((text, j) => {
            const read = back[i + 1]![j]!;
            expect(read).toBe(/^[=+\-@\t\r]/.test(text) ? `'${text}` : text);
            expect(read).not.toMatch(/^[=+\-@\t\r]/);
          }),
        );
      }),
    );
  });
});
