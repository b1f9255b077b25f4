// Structured logs with pino: JSON lines by default (LOG_FORMAT=json), or one readable key=value line per
// event (LOG_FORMAT=text) for people watching a terminal.
//
// The text renderer prints values that come from clients (tenant ids, label names inside denial messages,
// paths). Every part of the line is escaped so that no input can end the line or forge a field: control
// characters (including CR, LF, U+2028/U+2029) become escapes, and a value holding a space, a quote, a
// backslash or `=` is printed as a JSON string.

import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

// C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators: anything a terminal or a
// line-based log collector could take as a line break or an escape sequence.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
// eslint-disable-next-line no-control-regex
const NEEDS_QUOTES = /[\s"'\\=\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function escapeControl(ch: string): string {
  switch (ch) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default:
      return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
}

/** A JSON string literal with every control character escaped (JSON.stringify leaves U+2028/U+2029 raw). */
function quote(s: string): string {
  return JSON.stringify(s).replace(CONTROL, escapeControl);
}

/** One value of a key=value pair: bare when it is plain, quoted and escaped otherwise. */
export function textValue(v: unknown): string {
  if (typeof v === 'string') return v === '' || NEEDS_QUOTES.test(v) ? quote(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return quote(JSON.stringify(v) ?? String(v));
}

/** A key: keys are ours today, but a key built from input must not forge a field either. */
function textKey(k: string): string {
  return k !== '' && !NEEDS_QUOTES.test(k) ? k : quote(k);
}

/** The message stays readable (spaces kept); quoted only when it holds a quote or `=` that could forge a field. */
function textMessage(msg: string): string {
  if (/["=\\]/.test(msg)) return quote(msg);
  return msg.replace(CONTROL, escapeControl);
}

export function formatTextLine(line: string): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(line) as Record<string, unknown>;
  } catch {
    // Not pino's JSON (should not happen): still one line, with its control characters escaped.
    return line.replace(CONTROL, escapeControl) + '\n';
  }
  const { time, level, msg, ...rest } = event;
  const parts = [
    new Date(Number(time)).toISOString(),
    String(level).toUpperCase().padEnd(5).replace(CONTROL, escapeControl),
    textMessage(String(msg ?? '')),
  ];
  for (const [k, v] of Object.entries(rest)) {
    if (k === 'pid' || k === 'hostname') continue;
    parts.push(`${textKey(k)}=${textValue(v)}`);
  }
  return parts.join(' ') + '\n';
}

export function createLogger(
  level: string,
  format: 'json' | 'text',
  destination: NodeJS.WritableStream = process.stdout,
): Logger {
  if (format === 'json')
    return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  const text = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) destination.write(formatTextLine(line));
      done();
    },
  });
  return pino({ level, base: undefined, formatters: { level: (label) => ({ level: label }) } }, text);
}
