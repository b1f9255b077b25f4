// The Prometheus metric name Mimir's OTLP translation gives a metric, per translation strategy (prometheus/
// otlptranslator's MetricNamer.Build, as Mimir's distributor calls it): what the exact passes read for whether a
// series is an info series (`_info` at the end) and for the `__name__` length. Only the exact passes call it (they
// run when a scan bound is crossed); the scanners measure the name as sent (plus
// otlpNameSuffixBound for a suffixing strategy).
// Worked on the UTF-8 bytes (one char per byte, as Go's strings are), so lengths and cuts are Go's.

/** Mimir's otel_translation_strategy once derived (decide/otel-translation.ts): never empty. */
export type OtelTranslation =
  | 'UnderscoreEscapingWithSuffixes'
  | 'UnderscoreEscapingWithoutSuffixes'
  | 'NoUTF8EscapingWithSuffixes'
  | 'NoTranslation';

/** Whether a strategy appends type and unit suffixes. */
export function addsSuffixes(strategy: OtelTranslation): boolean {
  return strategy === 'UnderscoreEscapingWithSuffixes' || strategy === 'NoUTF8EscapingWithSuffixes';
}

/** otlptranslator's metric types, as far as naming tells them apart. */
export type OtlpNameType = 'gauge' | 'counter' | 'other';

/** The naming type of an OTLP metric: kind 0 gauge, kind 1 sum (a counter when monotonic), else other. */
export function otlpNameType(kind: number, monotonic: boolean): OtlpNameType {
  if (kind === 0) return 'gauge';
  return kind === 1 && monotonic ? 'counter' : 'other';
}

/**
 * The most bytes the suffixes can add to a name whose unit is `unitBytes` long: `_` + the main unit (a mapped word
 * is at most 12 bytes, `milliseconds`; an unmapped one at most its own bytes), `_per_` + the per unit (a mapped
 * word at most 6, `second`), and `_total` or `_ratio`; 1 more for the `_` a leading digit gets. The name's own
 * tokens never grow. A bound, never smaller than the translation: what the scan adds for suffixing tenants.
 */
export function otlpNameSuffixBound(unitBytes: number): number {
  return 1 + 1 + Math.max(12, unitBytes) + 5 + Math.max(6, unitBytes) + 6;
}

const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/** Go's strings.TrimSpace on UTF-8 bytes held one per char: Unicode White_Space (not U+FEFF, unlike JS trim). */
const GO_SPACE =
  '(?:[\\t\\n\\v\\f\\r ]|\\xC2[\\x85\\xA0]|\\xE1\\x9A\\x80|\\xE2\\x80[\\x80-\\x8A\\xA8\\xA9\\xAF]|\\xE2\\x81\\x9F|\\xE3\\x80\\x80)';
const LEADING_SPACE = new RegExp(`^${GO_SPACE}+`);
const TRAILING_SPACE = new RegExp(`${GO_SPACE}+$`);
function goTrimSpace(s: string): string {
  return s.replace(LEADING_SPACE, '').replace(TRAILING_SPACE, '');
}

/** The main and per unit words of a unit (otlptranslator buildUnitSuffixes), per unit with its `per_`. */
function unitSuffixes(unit: string): [string, string] {
  const slash = unit.indexOf('/');
  const mainText = goTrimSpace(slash < 0 ? unit : unit.slice(0, slash));
  let main = '';
  if (mainText !== '' && !/[{}]/.test(mainText)) main = UNIT_WORDS[mainText] ?? mainText;
  let per = '';
  if (slash >= 0 && slash + 1 < unit.length) {
    const perText = goTrimSpace(unit.slice(slash + 1));
    if (perText !== '' && !/[{}]/.test(perText)) per = PER_UNIT_WORDS[perText] ?? perText;
    if (per !== '') per = `per_${per}`;
  }
  return [main, per];
}

/** Bytes outside `[A-Za-z0-9:]`: where the legacy translation with suffixes splits a name. */
const NOT_COMPLIANT = /[^A-Za-z0-9:]+/;
/** Bytes outside `[A-Za-z0-9:_]`: where the legacy translation without suffixes splits a name. */
const NOT_COMPLIANT_OR_UNDERSCORE = /[^A-Za-z0-9:_]+/;

/** otlptranslator cleanUpUnit: every other character one `_`, runs of `_` one, no leading `_`. */
function cleanUpUnit(unit: string): string {
  return unit.replace(/[^A-Za-z0-9:]+/g, '_').replace(/^_/, '');
}

function fields(s: string, separators: RegExp): string[] {
  return s.split(separators).filter((t) => t !== '');
}

function legacyName(name: string, unit: string, type: OtlpNameType, suffixes: boolean): string {
  let out: string;
  if (!suffixes) {
    out = fields(name, NOT_COMPLIANT_OR_UNDERSCORE).join('_');
  } else {
    let tokens = fields(name, NOT_COMPLIANT);
    const [mainWord, perWord] = unitSuffixes(unit);
    let main = cleanUpUnit(mainWord);
    let per = cleanUpUnit(perWord);
    if (tokens.includes(main)) main = '';
    if (per === 'per_') per = '';
    else {
      if (per.endsWith('_')) per = per.slice(0, -1);
      if (tokens.includes(per)) per = '';
    }
    if (per !== '' && main.endsWith('_')) main = main.slice(0, -1);
    if (main !== '') tokens.push(main);
    if (per !== '') tokens.push(per);
    if (type === 'counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
    if (unit === '1' && type === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
    out = tokens.join('_');
  }
  if (out !== '' && out.charCodeAt(0) >= 0x30 && out.charCodeAt(0) <= 0x39) out = `_${out}`;
  // A name that normalizes to nothing, or to underscores only, is an error in Mimir: no name to measure.
  if (out !== name && /^_*$/.test(out)) return '';
  return out;
}

/** otlptranslator trimSuffixAndDelimiter: the suffix and the one byte before it, when more is left. */
function trimSuffixAndDelimiter(name: string, suffix: string): string {
  return name.endsWith(suffix) && name.length > suffix.length + 1
    ? name.slice(0, name.length - suffix.length - 1)
    : name;
}

function utf8Name(name: string, unit: string, type: OtlpNameType): string {
  let out = name;
  let after = '';
  if (unit === '1' && type === 'gauge') {
    out = trimSuffixAndDelimiter(out, 'ratio');
    after = '_ratio';
  }
  if (type === 'counter') {
    out = trimSuffixAndDelimiter(out, 'total');
    after = `_total${after}`;
  }
  const [main, per] = unitSuffixes(unit);
  if (per !== '') {
    out = trimSuffixAndDelimiter(out, per);
    after = `_${per}${after}`;
  }
  if (main !== '' && !out.endsWith(main)) out = `${out}_${main}`;
  return out + after;
}

/**
 * The translated name, as bytes one per char (`name` and `unit` given the same way: latin1 of their UTF-8).
 * '' where Mimir's translation fails (a name that normalizes to nothing).
 */
export function translateOtlpMetricNameBytes(
  name: string,
  unit: string,
  type: OtlpNameType,
  strategy: OtelTranslation,
): string {
  switch (strategy) {
    case 'NoTranslation':
      return name;
    case 'NoUTF8EscapingWithSuffixes':
      return utf8Name(name, unit, type);
    case 'UnderscoreEscapingWithSuffixes':
      return legacyName(name, unit, type, true);
    case 'UnderscoreEscapingWithoutSuffixes':
      return legacyName(name, unit, type, false);
  }
}

/** What the exact passes read of a translated name: its length in bytes and whether it ends in `_info`. */
export interface TranslatedName {
  length: number;
  info: boolean;
}

/** The translated name of `name` and `unit` (UTF-8 bytes): its length and whether it names info series. */
export function translatedOtlpName(
  name: Uint8Array,
  unit: Uint8Array,
  type: OtlpNameType,
  strategy: OtelTranslation,
): TranslatedName {
  const out = translateOtlpMetricNameBytes(
    Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1'),
    Buffer.from(unit.buffer, unit.byteOffset, unit.byteLength).toString('latin1'),
    type,
    strategy,
  );
  return { length: out.length, info: out.endsWith('_info') };
}

/** The translated name of a name and unit given as text, as text (for messages). */
export function translatedOtlpNameText(
  name: string,
  unit: string,
  type: OtlpNameType,
  strategy: OtelTranslation,
): string {
  const latin1 = (t: string): string => Buffer.from(t, 'utf8').toString('latin1');
  const out = translateOtlpMetricNameBytes(latin1(name), latin1(unit), type, strategy);
  return Buffer.from(out, 'latin1').toString('utf8');
}
