// Calendar periods (hour, day, month) in an IANA time zone: the UTC instants where the local period
// containing a given instant starts and ends, DST included. Uses Intl once per lookup, so callers cache
// the current period rather than calling this per request.

export type CalendarUnit = 'hour' | 'day' | 'month';

export interface CalendarPeriod {
  startMs: number;
  endMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a RangeError naming the zone when `timeZone` is not a zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  formatter(timeZone);
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallClock(ms: number, timeZone: string): Wall {
  const wall: Wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatter(timeZone).formatToParts(ms)) {
    if (part.type in wall) wall[part.type as keyof Wall] = Number(part.value);
  }
  return wall;
}

/** Local time minus UTC at instant `ms`, in ms. */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  const seconds = ms - (((ms % 1000) + 1000) % 1000);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - seconds;
}

/** The instant the local wall clock reads the given time (for a skipped time, just after the gap). */
function instantOf(year: number, month: number, day: number, hour: number, timeZone: string): number {
  const wallAsUtc = Date.UTC(year, month - 1, day, hour);
  let t = wallAsUtc - offsetAt(wallAsUtc, timeZone);
  t = wallAsUtc - offsetAt(t, timeZone);
  return t;
}

/** The local `unit` containing `ms` in `timeZone`. */
export function calendarPeriod(ms: number, unit: CalendarUnit, timeZone: string): CalendarPeriod {
  const w = wallClock(ms, timeZone);
  let startMs: number;
  let endMs: number;
  if (unit === 'hour') {
    startMs = instantOf(w.year, w.month, w.day, w.hour, timeZone);
    endMs = instantOf(w.year, w.month, w.day, w.hour + 1, timeZone);
    // A repeated hour (clocks going back) maps both wall hours to the same instants; keep it an hour long.
    if (endMs <= startMs || startMs > ms) {
      startMs = ms - ((((ms - startMs) % 3_600_000) + 3_600_000) % 3_600_000);
      endMs = startMs + 3_600_000;
    }
  } else if (unit === 'day') {
    startMs = instantOf(w.year, w.month, w.day, 0, timeZone);
    endMs = instantOf(w.year, w.month, w.day + 1, 0, timeZone);
  } else {
    startMs = instantOf(w.year, w.month, 1, 0, timeZone);
    endMs = instantOf(w.year, w.month + 1, 1, 0, timeZone);
  }
  if (ms >= endMs) endMs = ms + 1; // never hand out a period that does not contain `ms`
  if (ms < startMs) startMs = ms;
  return { startMs, endMs };
}
