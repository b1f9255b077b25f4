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
import { allEmpty, column, latest, xValues } from '../../../ui/src/logic/chart-data.js';
import { renderMarkdown } from '../../../ui/src/logic/markdown.js';
import {
  DEFAULT_RANGE,
  RANGE_NAMES,
  bucketText,
  carryRange,
  rangeOf,
  withRange,
} from '../../../ui/src/logic/range.js';
import {
  headroom,
  headroomText,
  minutesText,
  minutesToLimit,
  retriesClimbing,
  retryStorm,
  unknownTenant,
} from '../../../ui/src/logic/tenant-figures.js';
import type { TenantFigures } from '../../../ui/src/logic/tenant-figures.js';
import { toCsv, toJson } from '../../../ui/src/logic/table-export.js';

const DEFS: LimitDefinition[] = LIMIT_DEFINITIONS.map((d) => ({
  name: d.name,
  kind: d.kind,
  values: d.values ?? null,
  default: d.defaultValue,
  zero_means: d.zeroMeans ?? null,
  max: d.max ?? null,
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

describe('wiki Markdown renderer', () => {
  it('renders numbered lists, emphasis and code that span a line break, and tables', () => {
    const html = renderMarkdown(
      '1. Open **Tenants**, then\n2. click `a\nb` and **bold\nacross**.\n\n| a | b |\n| - | - |\n| 1 | `2` |\n',
    );
    expect(html).toContain('<ol>');
    expect(html.match(/<li>/g)).toHaveLength(2);
    expect(html).toContain('<strong>bold\nacross</strong>');
    expect(html).toContain('<code>a b</code>');
    expect(html).toContain('<div class="table-wrap"><table>');
    expect(html).toContain('<td><code>2</code></td>');
  });

  it('escapes raw HTML and keeps unsafe links as text; docs links open in the wiki', () => {
    const html = renderMarkdown(
      'Some <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) [d](data:text/html,hi) [api](admin-api.md) [web](https://grafana.com)',
    );
    expect(html).not.toMatch(/<script|<img|href="javascript|href="data/i);
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('<a href="?page=admin-api" data-wiki-page="admin-api">api</a>');
    expect(html).toContain('href="https://grafana.com" rel="noreferrer noopener" target="_blank"');
  });

  it('never produces a script, an event handler, an inline style or an unsafe link from any text (property)', () => {
    const piece = fc.constantFrom(
      '<script>',
      '</script>',
      '<a href="javascript:x">',
      'onerror=',
      'style="x"',
      '[l](',
      ')',
      'javascript:',
      '`',
      '**',
      '\n',
      '1. ',
      '| a |',
      '<',
      '>',
      '"',
      "'",
      '&',
      'data:',
      'vbscript:',
      ' ',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 5 })), { maxLength: 40 }), (parts) => {
        const html = renderMarkdown(parts.join(''));
        expect(html).not.toMatch(
          /<script|<[a-z]+[^>]*\son[a-z]+=|<[a-z]+[^>]*\sstyle=|href="\s*(javascript|data|vbscript):/i,
        );
      }),
    );
  });
});

describe('range in the URL', () => {
  it('reads and writes ?range= without touching other parameters, one default everywhere', () => {
    expect(rangeOf('/tenants')).toBe(DEFAULT_RANGE);
    expect(rangeOf('/tenants?range=1h')).toBe('1h');
    expect(rangeOf('/tenants?range=2y')).toBe(DEFAULT_RANGE);
    expect(withRange('/tenants?q=a', '1h')).toBe('/tenants?q=a&range=1h');
    expect(withRange('/tenants?range=1h', DEFAULT_RANGE)).toBe('/tenants');
    expect(carryRange('/denials', '/tenants/x?range=24h')).toBe('/denials?range=24h');
    expect(carryRange('/wiki?page=a', '/tenants?range=24h')).toBe('/wiki?page=a');
    expect(bucketText(15)).toBe('15 s');
    expect(bucketText(120)).toBe('2 min');
    expect(bucketText(14400)).toBe('4 h');
  });

  it('round-trips every range through any path (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...RANGE_NAMES), fc.stringMatching(/^\/[a-z/]{0,12}$/), (range, path) => {
        expect(rangeOf(withRange(path, range))).toBe(range);
      }),
    );
  });
});

describe('chart columns', () => {
  it('leaves the still-filling bucket out (null), so a live chart does not drop to zero at its edge', () => {
    const points = [
      { time: '2026-01-01T00:00:00Z', partial: false, v: 5 },
      { time: '2026-01-01T00:00:15Z', partial: false, v: 7 },
      { time: '2026-01-01T00:00:30Z', partial: true, v: 0 },
    ];
    const values = column(points, (p) => p.v);
    expect(values).toEqual([5, 7, null]);
    expect(latest(values)).toBe(7);
    expect(xValues(points)).toEqual([1767225600, 1767225615, 1767225630]);
    expect(allEmpty([values])).toBe(false);
    expect(allEmpty([[0, null]])).toBe(true);
  });

  it('leaves buckets that ended before measuring started out too: unknown, not zero', () => {
    const points = [
      { time: '2026-01-01T00:00:00Z', v: 0 },
      { time: '2026-01-01T00:00:15Z', v: 3 },
      { time: '2026-01-01T00:00:30Z', v: 4 },
    ];
    // Started at 00:00:20: the first bucket (00:00:00-00:00:15) ended before, the second holds the start.
    expect(column(points, (p) => p.v, Date.parse('2026-01-01T00:00:20Z'), 15_000)).toEqual([null, 3, 4]);
  });
});

describe('tenant figures', () => {
  const base: TenantFigures = {
    limits: { ingestion_rate: 1000 },
    limit_sources: { ingestion_rate: 'default' },
    enforcement: { tenant_enabled: true, limits: { ingestion_rate: true } },
    window: {
      requests: 100,
      denied: 0,
      samples_per_second: 400,
      accepted_samples_per_second: 400,
      rejected_samples_per_second: 0,
    },
    trend: { direction: 'up', samples_per_second_change_per_minute: 60 },
    stats: {},
    first_seen: '2026-01-01T00:00:00Z',
  };

  it('computes headroom and the minutes to the limit at the trend', () => {
    expect(headroom(base)).toBe(600);
    expect(minutesToLimit(base)).toBe(10);
    expect(minutesText(10)).toBe('10 min');
    expect(
      minutesToLimit({ ...base, trend: { direction: 'flat', samples_per_second_change_per_minute: 0 } }),
    ).toBe(null);
    expect(minutesToLimit({ ...base, window: { ...base.window, samples_per_second: 1200 } })).toBe(0);
    expect(headroom({ ...base, limits: { ingestion_rate: 0 } })).toBe(null);
  });

  it('flags a retry storm: most requests denied, rejected samples far above accepted', () => {
    expect(retryStorm(base)).toBe(false);
    const storm = {
      ...base,
      window: {
        requests: 4444,
        denied: 4400,
        samples_per_second: 4444,
        accepted_samples_per_second: 50,
        rejected_samples_per_second: 4394,
      },
    };
    expect(retryStorm(storm)).toBe(true);
  });

  it('calls a tenant unknown only when never seen and nothing is set for it', () => {
    const never = { ...base, stats: null, first_seen: null };
    expect(unknownTenant(never)).toBe(true);
    expect(unknownTenant(base)).toBe(false);
    expect(unknownTenant({ ...never, limit_sources: { ingestion_rate: 'runtime' } })).toBe(false);
    expect(unknownTenant({ ...never, enforcement: { tenant_enabled: false, limits: {} } })).toBe(false);
  });
});

describe('headroom text', () => {
  it('says "over by" instead of a negative headroom', () => {
    expect(headroomText(-342.1, (n) => n.toFixed(1))).toBe('over by 342.1 samples/s');
    expect(headroomText(600, String, '/s')).toBe('600/s');
    expect(headroomText(null, String)).toBe('unlimited');
  });
});

describe('choice limits by name', () => {
  it('shows an enum change with its names, not indices', () => {
    const def = DEFS.find((d) => d.name === 'label_value_length_over_limit_strategy')!;
    const typed = parseLimitInput(def, 'truncate');
    expect(typed).toBe(def.values!.indexOf('truncate'));
    expect(describeChange({ name: def.name, before: 0, after: typed as number }, def.values)).toBe(
      `${def.name} ${def.values![0]} → truncate`,
    );
  });
});

describe('retries climbing', () => {
  const point = (requests: number, accepted: number, denied: number, partial = false) => ({
    partial,
    requests_per_second: requests,
    accepted_samples_per_second: accepted,
    denied,
  });

  it('flags requests rising while accepted samples stay flat, and not a tenant that simply grows', () => {
    const storm = [
      point(2, 100, 0),
      point(2, 100, 0),
      point(5, 100, 30),
      point(6, 100, 40),
      point(0, 0, 0, true),
    ];
    expect(retriesClimbing(storm)).toBe(true);
    const growing = [point(2, 100, 0), point(2, 100, 0), point(5, 250, 0), point(6, 300, 0)];
    expect(retriesClimbing(growing)).toBe(false);
    expect(retriesClimbing(storm.slice(0, 3))).toBe(false);
  });
});
