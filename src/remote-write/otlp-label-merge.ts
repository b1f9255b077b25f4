// How Mimir's OTLP translation turns one attribute list into labels (createAttributes in Prometheus'
// otlptranslator, pkg/distributor/otel.go): attribute keys that translate to the same label name become one label
// whose value is their values joined with `;` in key order (a value equal to what is there already is not added
// again), and a key that translates to a label the translation sets itself (`__name__`, `job`, `instance`, `le`,
// `quantile`) gives way to it. Resource attributes promoted to labels (promote_otel_resource_attributes) are added
// where no attribute set the label. For the exact passes only (otlp-proto-drop-pass.ts): on the bytes, with scratch
// arrays reused from point to point, no strings.

const UNDERSCORE = 0x5f;

/** The label names the translation sets itself, as UTF-8. */
export const FIXED_METRIC_NAME = Uint8Array.from(Buffer.from('__name__'));
export const FIXED_JOB = Uint8Array.from(Buffer.from('job'));
export const FIXED_INSTANCE = Uint8Array.from(Buffer.from('instance'));
export const FIXED_LE = Uint8Array.from(Buffer.from('le'));
export const FIXED_QUANTILE = Uint8Array.from(Buffer.from('quantile'));

/** The attributes of one point (or one resource) as they are read, then merged as Mimir's translation merges them. */
export class AttributeMerge {
  private count = 0;
  // Per attribute: its translated name in `names` [nameAt[i], nameAt[i + 1]), its key's length as sent, its value's
  // length as the scanner measures it, and its AnyValue bytes [valueStart, valueEnd) for comparing values.
  private readonly nameAt: number[] = [0];
  private readonly keyLength: number[] = [];
  private readonly valueLength: number[] = [];
  private readonly valueStart: number[] = [];
  private readonly valueEnd: number[] = [];
  private readonly promoted: boolean[] = [];
  private names = new Uint8Array(256);
  private readonly joined: number[] = [];
  private readonly sameValues: boolean[] = [];

  /** Set by finish(): the labels the attributes make, their longest key and their longest (joined) value. */
  labels = 0;
  longestName = 0;
  longestValue = 0;

  reset(): void {
    this.count = 0;
  }

  /** One attribute: key `buf[keyStart, keyStart + keyLength)`, value bytes `buf[valueStart, valueEnd)`. */
  add(
    buf: Uint8Array,
    keyStart: number,
    keyLength: number,
    valueLength: number,
    valueStart: number,
    valueEnd: number,
    promoted = false,
  ): void {
    const i = this.count++;
    const at = this.nameAt[i]!;
    // A translated name is at most 4 + keyLength bytes (`key_` before a leading digit).
    if (at + keyLength + 4 > this.names.length) {
      const grown = new Uint8Array(Math.max(this.names.length * 2, at + keyLength + 4));
      grown.set(this.names.subarray(0, at));
      this.names = grown;
    }
    this.nameAt[i + 1] = translateInto(buf, keyStart, keyLength, this.names, at);
    this.keyLength[i] = keyLength;
    this.valueLength[i] = valueLength;
    this.valueStart[i] = valueStart;
    this.valueEnd[i] = valueEnd;
    this.promoted[i] = promoted;
  }

  /**
   * Merges the attributes added since reset(): `fixed` are the label names the translation sets on this series
   * (an attribute translating to one of them gives way). Leaves the result in labels, longestName, longestValue.
   */
  finish(buf: Uint8Array, fixed: readonly Uint8Array[]): void {
    const n = this.count;
    let labels = 0;
    let longestName = 0;
    let longestValue = 0;
    // The joined value's length per attribute that starts a label (-1 for one merged into another or given way).
    const joined = this.joined;
    const sameValues = this.sameValues;
    for (let j = 0; j < n; j++) {
      joined[j] = this.valueLength[j]!;
      sameValues[j] = true;
    }
    for (let j = 0; j < n; j++) {
      let givesWay = false;
      for (let f = 0; f < fixed.length && !givesWay; f++) givesWay = this.nameIs(j, fixed[f]!);
      if (givesWay) {
        joined[j] = -1;
        continue;
      }
      let into = -1;
      for (let i = 0; i < j && into < 0; i++) if (joined[i]! >= 0 && this.sameName(i, j)) into = i;
      // A promoted resource attribute (added after the point's) is set only where no attribute set that label.
      if (this.promoted[j] === true && into >= 0) {
        joined[j] = -1;
        continue;
      }
      if (into < 0) {
        labels++;
        if (this.keyLength[j]! > longestName) longestName = this.keyLength[j]!;
        continue;
      }
      joined[j] = -1;
      if (sameValues[into] === true && this.sameValue(buf, into, j)) continue;
      sameValues[into] = false;
      joined[into] = joined[into]! + 1 + this.valueLength[j]!;
    }
    for (let i = 0; i < n; i++) if (joined[i]! > longestValue) longestValue = joined[i]!;
    this.labels = labels;
    this.longestName = longestName;
    this.longestValue = longestValue;
  }

  private nameIs(i: number, name: Uint8Array): boolean {
    const start = this.nameAt[i]!;
    const length = this.nameAt[i + 1]! - start;
    if (length !== name.length) return false;
    for (let k = 0; k < length; k++) if (this.names[start + k] !== name[k]) return false;
    return true;
  }

  private sameName(a: number, b: number): boolean {
    const aStart = this.nameAt[a]!;
    const bStart = this.nameAt[b]!;
    const length = this.nameAt[a + 1]! - aStart;
    if (this.nameAt[b + 1]! - bStart !== length) return false;
    for (let k = 0; k < length; k++) if (this.names[aStart + k] !== this.names[bStart + k]) return false;
    return true;
  }

  private sameValue(buf: Uint8Array, a: number, b: number): boolean {
    const aStart = this.valueStart[a]!;
    const bStart = this.valueStart[b]!;
    const length = this.valueEnd[a]! - aStart;
    if (this.valueEnd[b]! - bStart !== length) return false;
    for (let k = 0; k < length; k++) if (buf[aStart + k] !== buf[bStart + k]) return false;
    return true;
  }
}

/**
 * Writes the label name the attribute key `buf[start, start + length)` translates to into `out` at `at` (each code
 * point outside `[A-Za-z0-9_]` becomes `_`, a leading digit gets `key_`, as translatesTo reads it); returns the end.
 */
export function translateInto(
  buf: Uint8Array,
  start: number,
  length: number,
  out: Uint8Array,
  at: number,
): number {
  let o = at;
  const end = start + length;
  if (length > 0 && buf[start]! >= 0x30 && buf[start]! <= 0x39) {
    out[o++] = 0x6b;
    out[o++] = 0x65;
    out[o++] = 0x79;
    out[o++] = UNDERSCORE;
  }
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    const word =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === UNDERSCORE;
    out[o++] = word ? b : UNDERSCORE;
    if (!word && b >= 0xc0) while (i + 1 < end && (buf[i + 1]! & 0xc0) === 0x80) i++;
  }
  return o;
}
