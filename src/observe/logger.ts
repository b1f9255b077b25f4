// Structured logs with pino: JSON lines by default (LOG_FORMAT=json), or one readable key=value line per
// event (LOG_FORMAT=text) for people watching a terminal.

import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

function formatTextLine(line: string): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, ...rest } = event;
  const parts = [
    new Date(Number(time)).toISOString(),
    String(level).toUpperCase().padEnd(5),
    String(msg ?? ''),
  ];
  for (const [k, v] of Object.entries(rest)) {
    if (k === 'pid' || k === 'hostname') continue;
    parts.push(`${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`);
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
