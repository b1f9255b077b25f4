// A validating JSON tokenizer over a UTF-8 buffer, for scanners that read a few known fields and skip the rest
// without building values. Must accept exactly what JSON.parse (after a fatal UTF-8 decode) accepts, never recurse
// on the body's nesting, never allocate per token on the common path, and never throw anything but BodyDecodeError.

import { BodyDecodeError } from './errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** 1 for the bytes that end a plain ASCII run inside a string: '"', '\\', controls and every byte >= 0x80. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if (c === QUOTE || c === BACKSLASH || c < 0x20 || c >= 0x80) STRING_STOP[c] = 1;
}

const IN_OBJECT = 1;
const IN_ARRAY = 2;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/** Container kinds of the value being skipped, one byte per level; reused, grown to the deepest body seen. */
let nesting: Uint8Array = new Uint8Array(64);

/** The hex digit value of an ASCII byte, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

export function invalidJson(detail: string, offset = -1): BodyDecodeError {
  return new BodyDecodeError(
    'invalid_json',
    `invalid OTLP JSON: ${detail}${offset >= 0 ? ` at offset ${offset}` : ''}`,
    offset,
  );
}

/**
 * A position in a JSON text plus what the last string or number token held. Callers peek with `ws()`, which
 * returns the next significant byte, then call the reader for that token.
 */
export class JsonCursor {
  readonly buf: Uint8Array;
  readonly end: number;
  pos: number;

  // The last string token read by string(): its raw contents [strStart, strEnd) between the quotes, whether it
  // held escapes, its length in UTF-8 bytes once decoded, and the bytes JSON.stringify would write for it.
  strStart = 0;
  strEnd = 0;
  strEscaped = false;
  strBytes = 0;
  strCanonical = 0;

  // The last number token read by number(): its raw text [numStart, numEnd).
  numStart = 0;
  numEnd = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.end = buf.length;
    // TextDecoder (what JSON.parse's input went through) drops a leading byte order mark.
    this.pos = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  }

  fail(what: string, at = this.pos): BodyDecodeError {
    return invalidJson(what, at);
  }

  /** Skips whitespace; returns the byte now at `pos`, or -1 at the end of the body. */
  ws(): number {
    const buf = this.buf;
    const end = this.end;
    let p = this.pos;
    while (p < end) {
      const c = buf[p]!;
      if (c > 0x20 || (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09)) {
        this.pos = p;
        return c;
      }
      p++;
    }
    this.pos = p;
    return -1;
  }

  /** Consumes `byte` (after whitespace) or fails naming what was expected. */
  expect(byte: number, what: string): void {
    if (this.ws() !== byte) throw this.fail(`expected ${what}`);
    this.pos++;
  }

  /**
   * After a member's value: consumes `,` (true: another member follows, its key next) or `}` (false: the object is
   * done). The same for arrays with `]`.
   */
  more(close: number): boolean {
    const c = this.ws();
    if (c === COMMA) {
      this.pos++;
      return true;
    }
    if (c === close) {
      this.pos++;
      return false;
    }
    throw this.fail(close === CLOSE_BRACE ? "expected ',' or '}'" : "expected ',' or ']'");
  }

  /** Opens an object whose `{` is at `pos`: true when a first key follows (the cursor is then on its quote). */
  openObject(): boolean {
    this.pos++;
    const c = this.ws();
    if (c === CLOSE_BRACE) {
      this.pos++;
      return false;
    }
    if (c !== QUOTE) throw this.fail('expected a key or }');
    return true;
  }

  /** Reads a key and its colon; the cursor is then on the value. Requires the next byte to be a quote. */
  key(): void {
    if (this.ws() !== QUOTE) throw this.fail('expected a key');
    this.string();
    this.expect(COLON, "':'");
    this.ws();
  }

  /**
   * Reads the next key and its colon when the key is exactly `name` written plainly (the usual case for the key
   * a caller expects next); otherwise consumes nothing and returns false, and the caller reads it with key().
   */
  keyExactly(name: Uint8Array): boolean {
    const buf = this.buf;
    const n = name.length;
    const p = this.ws() === QUOTE ? this.pos : -1;
    if (p < 0 || p + n + 2 > this.end || buf[p + 1 + n] !== QUOTE) return false;
    for (let i = 0; i < n; i++) {
      if (buf[p + 1 + i] !== name[i]) return false;
    }
    this.strStart = p + 1;
    this.strEnd = p + 1 + n;
    this.strEscaped = false;
    this.strBytes = n;
    this.strCanonical = n + 2;
    this.pos = p + n + 2;
    this.expect(COLON, "':'");
    this.ws();
    return true;
  }

  /** Opens an array whose `[` is at `pos`: true when a first element follows. */
  openArray(): boolean {
    this.pos++;
    if (this.ws() === CLOSE_BRACKET) {
      this.pos++;
      return false;
    }
    return true;
  }

  /** True when the key just read by key() is exactly `name` (an ASCII name; escaped keys are decoded first). */
  keyIs(name: Uint8Array): boolean {
    const start = this.strStart;
    const length = this.strEnd - start;
    if (this.strEscaped) return this.strBytes === name.length && this.decodedString() === latin1.decode(name);
    if (length !== name.length) return false;
    const buf = this.buf;
    for (let i = 0; i < length; i++) {
      if (buf[start + i] !== name[i]) return false;
    }
    return true;
  }

  /** The last string token, decoded (allocates: for the rare callers that need the text). */
  decodedString(): string {
    if (!this.strEscaped) return utf8.decode(this.buf.subarray(this.strStart, this.strEnd));
    // Re-parse the raw token with JSON.parse: it is one already validated string, so this cannot fail.
    return JSON.parse(utf8.decode(this.buf.subarray(this.strStart - 1, this.strEnd + 1))) as string;
  }

  /** The last number token as JavaScript reads it. */
  numberValue(): number {
    return Number(latin1.decode(this.buf.subarray(this.numStart, this.numEnd)));
  }

  /** Reads the string whose opening quote is at `pos`. Plain ASCII runs take the loop at the top. */
  string(): void {
    const buf = this.buf;
    const end = this.end;
    const start = this.pos + 1;
    let p = start;
    // One table load per byte: bytes that need a look (quote, backslash, control, non-ASCII) are marked.
    while (p < end && STRING_STOP[buf[p]!] === 0) p++;
    if (p < end && buf[p] === QUOTE) {
      this.strStart = start;
      this.strEnd = p;
      this.strEscaped = false;
      this.strBytes = p - start;
      this.strCanonical = p - start + 2;
      this.pos = p + 1;
      return;
    }
    this.stringSlow(start, p);
  }

  /** The rest of a string from `p`: escapes, multi-byte UTF-8 (validated as TextDecoder's fatal mode does). */
  private stringSlow(start: number, from: number): void {
    const buf = this.buf;
    const end = this.end;
    let p = from;
    let bytes = from - start;
    let canonical = bytes;
    let escaped = false;
    for (;;) {
      if (p >= end) throw this.fail('unterminated string', start - 1);
      const c = buf[p]!;
      if (c === QUOTE) break;
      if (c < 0x20) throw this.fail('control character in a string', p);
      if (c < 0x80 && c !== BACKSLASH) {
        bytes++;
        canonical++;
        p++;
        continue;
      }
      if (c >= 0x80) {
        const n = utf8SequenceLength(buf, p, end);
        if (n === 0) throw this.fail('invalid UTF-8', p);
        bytes += n;
        canonical += n;
        p += n;
        continue;
      }
      escaped = true;
      const e = p + 1 < end ? buf[p + 1]! : -1;
      if (e === QUOTE || e === BACKSLASH) {
        bytes++;
        canonical += 2;
        p += 2;
      } else if (e === 0x2f) {
        // \/ decodes to '/', which JSON.stringify writes bare.
        bytes++;
        canonical++;
        p += 2;
      } else if (e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        // \b \f \n \r \t
        bytes++;
        canonical += 2;
        p += 2;
      } else if (e === 0x75) {
        const unit = this.hex4(p + 2);
        p += 6;
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const low = p + 5 < end && buf[p] === BACKSLASH && buf[p + 1] === 0x75 ? this.hex4Soft(p + 2) : -1;
          if (low >= 0xdc00 && low <= 0xdfff) {
            // A surrogate pair: one code point of four UTF-8 bytes.
            bytes += 4;
            canonical += 4;
            p += 6;
          } else {
            // A lone surrogate: encoded as U+FFFD (3 bytes); JSON.stringify writes it as \uXXXX.
            bytes += 3;
            canonical += 6;
          }
        } else if (unit >= 0xdc00 && unit <= 0xdfff) {
          bytes += 3;
          canonical += 6;
        } else {
          const n = unit < 0x80 ? 1 : unit < 0x800 ? 2 : 3;
          bytes += n;
          if (unit < 0x20) {
            canonical += unit === 8 || unit === 9 || unit === 10 || unit === 12 || unit === 13 ? 2 : 6;
          } else {
            canonical += unit === QUOTE || unit === BACKSLASH ? 2 : n;
          }
        }
      } else {
        throw this.fail('invalid escape in a string', p);
      }
    }
    this.strStart = start;
    this.strEnd = p;
    this.strEscaped = escaped;
    this.strBytes = bytes;
    this.strCanonical = canonical + 2;
    this.pos = p + 1;
  }

  /** Four hex digits at `at` as a UTF-16 code unit; fails when they are missing or not hex. */
  private hex4(at: number): number {
    const unit = this.hex4Soft(at);
    if (unit < 0) throw this.fail('invalid \\u escape', at - 2);
    return unit;
  }

  private hex4Soft(at: number): number {
    if (at + 4 > this.end) return -1;
    const buf = this.buf;
    const a = hexDigit(buf[at]!);
    const b = hexDigit(buf[at + 1]!);
    const c = hexDigit(buf[at + 2]!);
    const d = hexDigit(buf[at + 3]!);
    if ((a | b | c | d) < 0) return -1;
    return (a << 12) | (b << 8) | (c << 4) | d;
  }

  /** Reads the number at `pos` (JSON's grammar: no leading zeros, no bare dot, no `+`). */
  number(): void {
    const buf = this.buf;
    const end = this.end;
    const start = this.pos;
    let p = start;
    if (buf[p] === MINUS) p++;
    if (p >= end) throw this.fail('invalid number', start);
    let c = buf[p]!;
    if (c === ZERO) {
      p++;
    } else if (c > ZERO && c <= NINE) {
      p++;
      while (p < end && (c = buf[p]!) >= ZERO && c <= NINE) p++;
    } else {
      throw this.fail('invalid number', start);
    }
    if (p < end && buf[p] === DOT) {
      p++;
      const digits = p;
      while (p < end && (c = buf[p]!) >= ZERO && c <= NINE) p++;
      if (p === digits) throw this.fail('invalid number', start);
    }
    if (p < end && (buf[p] === 0x65 || buf[p] === 0x45)) {
      p++;
      if (p < end && (buf[p] === PLUS || buf[p] === MINUS)) p++;
      const digits = p;
      while (p < end && (c = buf[p]!) >= ZERO && c <= NINE) p++;
      if (p === digits) throw this.fail('invalid number', start);
    }
    this.numStart = start;
    this.numEnd = p;
    this.pos = p;
  }

  /** Reads `true`, `false` or `null` at `pos`; returns its first byte. */
  literal(): number {
    const buf = this.buf;
    const p = this.pos;
    const c = buf[p]!;
    const word = c === 0x74 ? TRUE : c === 0x66 ? FALSE : c === 0x6e ? NULL : undefined;
    if (word === undefined || p + word.length > this.end) throw this.fail('unexpected character');
    for (let i = 1; i < word.length; i++) {
      if (buf[p + i] !== word[i]) throw this.fail('unexpected character');
    }
    this.pos = p + word.length;
    return c;
  }

  /** True (and consumed) when the value at `pos` (after ws()) is `null`. */
  takeNull(): boolean {
    if (this.buf[this.pos] !== 0x6e) return false;
    this.literal();
    return true;
  }

  /**
   * Skips the value at `pos`, validating it; iterative, so nesting depth costs memory (one byte a level), never
   * stack. With `measure`, returns the bytes JSON.stringify(JSON.parse(value)) would write (objects with duplicate
   * keys aside); otherwise 0.
   */
  skipValue(measure = false): number {
    let stack = nesting;
    let depth = 0;
    let size = 0;
    for (;;) {
      // A value.
      const c = this.ws();
      if (c === OPEN_BRACE) {
        size += 2;
        if (this.openObject()) {
          if (depth === stack.length) stack = nesting = grow(stack);
          stack[depth++] = IN_OBJECT;
          this.key();
          if (measure) size += this.strCanonical + 1;
          continue;
        }
      } else if (c === OPEN_BRACKET) {
        size += 2;
        if (this.openArray()) {
          if (depth === stack.length) stack = nesting = grow(stack);
          stack[depth++] = IN_ARRAY;
          continue;
        }
      } else if (c === QUOTE) {
        this.string();
        size += this.strCanonical;
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        this.number();
        if (measure) {
          const n = this.numberValue();
          // JSON.stringify writes non-finite numbers (a huge exponent) as null.
          size += Number.isFinite(n) ? String(n).length : 4;
        }
      } else if (c === -1) {
        throw this.fail('unexpected end of the body');
      } else {
        const first = this.literal();
        size += first === 0x66 ? 5 : 4;
      }
      // After a value: close what ends here, then stop at the next value (or at depth 0).
      for (;;) {
        if (depth === 0) return measure ? size : 0;
        const inObject = stack[depth - 1] === IN_OBJECT;
        if (this.more(inObject ? CLOSE_BRACE : CLOSE_BRACKET)) {
          size++;
          if (inObject) {
            this.key();
            if (measure) size += this.strCanonical + 1;
          }
          break;
        }
        depth--;
      }
    }
  }

  /** Requires nothing but whitespace after the top-level value. */
  finish(): void {
    if (this.ws() !== -1) throw this.fail('unexpected data after the JSON value');
  }
}

const TRUE = Uint8Array.from([0x74, 0x72, 0x75, 0x65]);
const FALSE = Uint8Array.from([0x66, 0x61, 0x6c, 0x73, 0x65]);
const NULL = Uint8Array.from([0x6e, 0x75, 0x6c, 0x6c]);

function grow(stack: Uint8Array): Uint8Array {
  const grown = new Uint8Array(stack.length * 2);
  grown.set(stack);
  return grown;
}

/**
 * The length of the well-formed UTF-8 sequence starting at `p` (a byte >= 0x80), or 0 when it is malformed,
 * overlong, a surrogate or past U+10FFFF: the sequences TextDecoder's fatal mode rejects.
 */
function utf8SequenceLength(buf: Uint8Array, p: number, end: number): number {
  const c = buf[p]!;
  const cont = (i: number, lo = 0x80, hi = 0xbf): boolean => {
    if (p + i >= end) return false;
    const b = buf[p + i]!;
    return b >= lo && b <= hi;
  };
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

export const JSON_BYTES = { QUOTE, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET } as const;
