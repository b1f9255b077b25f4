// The length of one OTLP/JSON AnyValue (an attribute's value) as Mimir prints it, read from the token stream
// without descending into arrays or maps recursively: the one reader the OTLP JSON scanner (otlp-json-scanner.ts)
// uses for every attribute value of a resource or a point.

import { JSON_BYTES } from './json-cursor.js';
import type { JsonCursor } from './json-cursor.js';
import { once } from './otlp-json-fields.js';
import { invalidJson } from './otlp-json-objects.js';

const encoder = new TextEncoder();
const { QUOTE, CLOSE_BRACE } = JSON_BYTES;
const K_STRING_VALUE = encoder.encode('stringValue');

// AnyValue fields, camelCase then snake_case, and what each one is.
const ANY_KEYS = [
  'stringValue',
  'string_value',
  'boolValue',
  'bool_value',
  'intValue',
  'int_value',
  'doubleValue',
  'double_value',
  'arrayValue',
  'array_value',
  'kvlistValue',
  'kvlist_value',
  'bytesValue',
  'bytes_value',
].map((key) => encoder.encode(key));
const ANY_STRING = 0;
const ANY_STRING_SNAKE = 1;
/** ANY_KEYS index / 2: 0 string, 1 bool, 2 int, 3 double, 4 array, 5 kvlist, 6 bytes. */
const ANY_BOOL = 1;
const ANY_INT = 2;
const ANY_DOUBLE = 3;
const ANY_BYTES = 6;

/** Which AnyValue field a key names (an ANY_KEYS index), or -1. */
function anyValueField(c: JsonCursor): number {
  for (let i = 0; i < ANY_KEYS.length; i++) {
    if (c.keyIs(ANY_KEYS[i]!)) return i;
  }
  return -1;
}

/**
 * The length of an AnyValue as Mimir prints it (see the protobuf scanner): a string's UTF-8 bytes, `true` or
 * `false`, a number's decimal form (int64 strings as written), bytes as their base64 text, and for an array or
 * a map the size of its JSON text (JSON.stringify's form), measured without descending into it recursively.
 * A string value wins wherever it sits; otherwise the first field that is set decides.
 */
export function anyValueLength(c: JsonCursor): number {
  let camelString = -1; // -1: absent, -2: set but not a string
  let snakeString = -1;
  let firstSet = false;
  let first = 0;
  let firstError: string | undefined;
  let seen = 0;
  if (c.openObject()) {
    do {
      if (!c.keyExactly(K_STRING_VALUE)) c.key();
      const field = anyValueField(c);
      if (field < 0) {
        c.skipValue();
        continue;
      }
      if (c.takeNull()) continue;
      seen = once(c, seen, 1 << field, 'AnyValue field');
      const kind = field >>> 1;
      const b = c.buf[c.pos]!;
      let length = 0;
      let error: string | undefined;
      if (kind === 0 || kind === ANY_BYTES) {
        if (b === QUOTE) {
          c.string();
          length = c.strBytes;
        } else {
          c.skipValue();
          error = `${field & 1 ? 'snake_case ' : ''}${kind === 0 ? 'stringValue' : 'bytesValue'} is not a string`;
          length = -2;
        }
        if (field === ANY_STRING) camelString = length;
        else if (field === ANY_STRING_SNAKE) snakeString = length;
      } else if (kind === ANY_BOOL) {
        length = b === 0x74 && c.literal() === 0x74 ? 4 : (c.skipValue(), 5);
      } else if (kind === ANY_INT || kind === ANY_DOUBLE) {
        if (b === QUOTE) {
          c.string();
          length = c.strBytes;
        } else if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
          c.number();
          length = String(c.numberValue()).length;
        } else {
          c.skipValue();
          error = `${kind === ANY_INT ? 'intValue' : 'doubleValue'} is not a number`;
        }
      } else {
        // arrayValue, kvlistValue: JSON.stringify's size of the value.
        length = c.skipValue(true);
      }
      if (!firstSet) {
        firstSet = true;
        first = length;
        firstError = error;
      }
    } while (c.more(CLOSE_BRACE));
  }
  if (camelString >= 0) return camelString;
  if (camelString === -1 && snakeString >= 0) return snakeString;
  if (!firstSet) return 0;
  if (firstError !== undefined) throw invalidJson(firstError);
  return first;
}
