// The admin UI's logic, without a browser: the limits editor must refuse what the server would refuse
// and show exactly what will change; a version's diff must list exactly the settings the server says changed;
// exports must open safely in a spreadsheet; the wiki's Markdown reader must never turn text into markup.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMIT_DEFINITIONS, LIMIT_NAMES, validateLimitValue } from '../../../src/limits/limit-definitions.js';
import { EMPTY_CONFIG, diffConfigs } from '../../../src/limits/limits-config.js';
import type { LimitOverrides } from '../../../src/limits/overrides-file.js';
import {
  actorText,
  diffRows,
  importBlocker,
  rollbackBlocker,
  versionActor,
} from '../../../ui/src/logic/config-versions.js';
import type { TenantChange } from '../../../ui/src/logic/config-versions.js';
import {
  describeChange,
  diffLimits,
  diffSwitches,
  parseLimitInput,
} from '../../../ui/src/logic/limit-edits.js';
import type { LimitDefinition } from '../../../ui/src/logic/limit-edits.js';
import { parseMarkdown } from '../../../ui/src/logic/markdown.js';
import { toCsv, toJson } from '../../../ui/src/logic/table-export.js';

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
        // Numbers typed into the limits that hold numbers; text limits: test/unit/limits/limits-text-kinds.test.ts.
        fc.constantFrom(...LIMIT_DEFINITIONS.filter((d) => ['float', 'int', 'enum'].includes(d.kind))),
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

describe('config versions', () => {
  it('shows a runtime limit change as the settings that moved, "unset" where the layer no longer sets one', () => {
    const rows = diffRows([
      {
        layer: 'runtime_limits',
        tenant: 'team-b',
        before: { ingestion_rate: 1, ingestion_burst_size: 10, request_rate: 5 },
        after: { request_rate: 5 },
      },
    ]);
    expect(rows).toEqual([
      {
        tenant: 'team-b',
        layer: 'runtime limits',
        setting: 'ingestion_burst_size',
        before: '10',
        after: 'unset',
      },
      { tenant: 'team-b', layer: 'runtime limits', setting: 'ingestion_rate', before: '1', after: 'unset' },
    ]);
  });

  it('reads enforcement switches as enforced / observed only, and an added empty entry as a change', () => {
    expect(
      diffRows([
        {
          layer: 'runtime_enforcement',
          tenant: 'a',
          before: null,
          after: { enabled: true, limits: { ingestion_rate: false } },
        },
        { layer: 'overrides_file', tenant: 'b', before: null, after: {} },
      ]).map((r) => `${r.tenant} ${r.layer} ${r.setting}: ${r.before} → ${r.after}`),
    ).toEqual([
      'a runtime switches enabled: unset → enforced',
      'a runtime switches limits.ingestion_rate: unset → observed only',
      'b Mimir overrides (entry): unset → set',
    ]);
  });

  it('lists exactly the limits the server diff says changed (property)', () => {
    const limits = fc.dictionary(fc.constantFrom(...LIMIT_NAMES), fc.integer({ min: 0, max: 3 }), {
      maxKeys: 4,
    });
    fc.assert(
      fc.property(limits, limits, (before, after) => {
        const at = (l: LimitOverrides) => ({
          ...EMPTY_CONFIG,
          runtimeOverrides: new Map(Object.keys(l).length ? [['t', l]] : []),
        });
        // The admin API sends the server's diff as JSON; the UI reads it back from there.
        const changes = JSON.parse(JSON.stringify(diffConfigs(at(before), at(after)))) as TenantChange[];
        const shown = diffRows(changes)
          .filter((r) => r.setting !== '(entry)')
          .map((r) => r.setting);
        const differing = LIMIT_NAMES.filter(
          (n) => (before as Record<string, number>)[n] !== (after as Record<string, number>)[n],
        );
        expect(shown).toEqual([...differing].sort());
      }),
    );
  });

  it('names automatic changes "system" and people by name and role', () => {
    expect(actorText('overrides-configmap', 'system')).toEqual({ who: 'system', via: 'overrides-configmap' });
    expect(actorText('olga', 'operator')).toEqual({ who: 'olga (operator)', via: null });
    expect(versionActor({ actor: 'state-dir', source: 'state' })).toEqual({
      who: 'system',
      via: 'state-dir',
    });
    expect(versionActor({ actor: 'olga', source: 'rollback' })).toEqual({ who: 'olga', via: null });
  });

  it('offers rollback to operators and admins (not to the version in force), import to admins only', () => {
    expect(rollbackBlocker('viewer', 3, 5)).toContain('needs the operator role');
    expect(rollbackBlocker('operator', 5, 5)).toBe('Version 5 is the one in force.');
    expect(rollbackBlocker('operator', 3, 5)).toBeNull();
    expect(rollbackBlocker('admin', 3, 5)).toBeNull();
    expect(importBlocker('operator')).toContain('needs the admin role');
    expect(importBlocker('admin')).toBeNull();
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
