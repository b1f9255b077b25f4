// The admin UI's logic, without a browser: the limits editor must refuse what the server would refuse
// and show exactly what will change; exports must open safely in a spreadsheet; the wiki's Markdown
// reader must never turn text into markup.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMIT_DEFINITIONS, validateLimitValue } from '../../src/limits/limit-definitions.js';
import { describeChange, diffLimits, diffSwitches, parseLimitInput } from '../../ui/src/logic/limit-edits.js';
import type { LimitDefinition } from '../../ui/src/logic/limit-edits.js';
import { parseMarkdown } from '../../ui/src/logic/markdown.js';
import { toCsv, toJson } from '../../ui/src/logic/table-export.js';

const DEFS: LimitDefinition[] = LIMIT_DEFINITIONS.map((d) => ({
  name: d.name,
  kind: d.kind,
  values: d.values ?? null,
  default: d.defaultValue,
  zero_means: d.zeroMeans ?? null,
  description: d.description,
}));
const CURRENT = Object.fromEntries(LIMIT_DEFINITIONS.map((d) => [d.name, d.defaultValue]));

describe('limits editor', () => {
  it('accepts exactly the values the admin API accepts (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...LIMIT_DEFINITIONS),
        fc.oneof(fc.double({ noNaN: false }), fc.integer()),
        (def, value) => {
          const ui = parseLimitInput(
            DEFS.find((d) => d.name === def.name)!,
            String(value),
          );
          const server = validateLimitValue(def, value);
          expect(typeof ui === 'number', `${def.name}=${value}`).toBe(server === undefined);
        },
      ),
    );
  });

  it('lists only limits whose value changes, and names every bad input', () => {
    const { changes, errors } = diffLimits(DEFS, CURRENT, {
      ingestion_rate: '100',
      ingestion_burst_size: '200000',
      max_label_names_per_series: '2.5',
      request_rate: 'abc',
    });
    expect(changes).toEqual([{ name: 'ingestion_rate', before: 10000, after: 100 }]);
    expect(errors).toEqual([
      'request_rate: "abc" is not a number',
      'max_label_names_per_series: must be a whole number',
    ]);
    expect(describeChange(changes[0]!)).toBe('ingestion_rate 10000 → 100 (-99%)');
  });

  it('describes enforcement switches that change', () => {
    expect(
      diffSwitches(
        { enabled: true, limits: { ingestion_rate: true } },
        { enabled: false, limits: { ingestion_rate: false, request_rate: true } },
      ),
    ).toEqual(['tenant: enforced → observed only', 'ingestion_rate: enforced → observed only']);
  });
});

describe('table export', () => {
  it('quotes CSV cells and defuses spreadsheet formulas', () => {
    const csv = toCsv(
      ['tenant', 'note'],
      [
        ['=HYPERLINK("x")', 'a,b'],
        ['t"q', null],
      ],
    );
    expect(csv).toBe('tenant,note\r\n"\'=HYPERLINK(""x"")","a,b"\r\n"t""q",\r\n');
  });

  it('exports JSON objects keyed by column', () => {
    expect(JSON.parse(toJson(['a', 'b'], [[1, 'x']]))).toEqual([{ a: 1, b: 'x' }]);
  });
});

describe('wiki Markdown reader', () => {
  it('keeps HTML as text and reads headings, lists, tables and code', () => {
    const blocks = parseMarkdown(
      '# Title\n\nSome <script>alert(1)</script> `code` and **bold** [link](admin-api.md).\n\n- one\n- two\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\n```\nx <b>\n```\n',
    );
    expect(blocks.map((b) => b.kind)).toEqual(['heading', 'paragraph', 'list', 'table', 'code']);
    const para = blocks[1]!;
    expect(para.kind === 'paragraph' && para.inline[0]).toEqual({
      kind: 'text',
      text: 'Some <script>alert(1)</script> ',
    });
    expect(para.kind === 'paragraph' && para.inline.map((i) => i.kind)).toEqual([
      'text',
      'code',
      'text',
      'strong',
      'text',
      'link',
      'text',
    ]);
  });

  it('reads any text without throwing or hanging (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const blocks = parseMarkdown(text);
        for (const b of blocks) expect(['heading', 'paragraph', 'list', 'code', 'table']).toContain(b.kind);
      }),
    );
  });
});
