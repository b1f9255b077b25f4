// The kinds of setting and how each is read from text. A definition's kind gives its TypeScript type
// (int and duration: number, bool: boolean, list: readonly string[], enum: the union of its choices,
// string and url: string), and its bounds (`min`, `max`, `allowZero`) live on the definition, so a
// setting is described, checked and typed in one place.

import { redactUrl } from '../lib/redact-url.js';
import { ConfigError } from '../lib/config-error.js';

export type Kind = 'string' | 'int' | 'bool' | 'duration' | 'url' | 'list' | 'enum';

/** What every definition says: its default (as text, as an operator writes it) and what it means. */
interface DefinitionBase {
  defaultValue: string;
  description: string;
}

/** What each kind may add to a definition. */
interface KindProperties {
  string: { kind: 'string' };
  url: { kind: 'url' };
  bool: { kind: 'bool' };
  list: { kind: 'list' };
  int: {
    kind: 'int';
    /** Least value allowed (0 when absent): "must be at least <min>". */
    min?: number;
    /** Largest value allowed: "must be at most <max>", or "must be <rangeName> (<min>-<max>)". */
    max?: number;
    /** How the range reads in errors, e.g. "a port number". */
    rangeName?: string;
  };
  duration: {
    kind: 'duration';
    /** 0 is allowed (and means off); otherwise a duration must be above 0. */
    allowZero?: boolean;
  };
  enum: { kind: 'enum'; choices: readonly string[] };
}

/** One setting, without its name: the key it is stored under is its env var. */
export type SettingDefinition = { [K in Kind]: DefinitionBase & KindProperties[K] }[Kind];

/** A table of settings keyed by env var, written `{...} as const satisfies SettingDefinitions`. */
export type SettingDefinitions = Readonly<Record<string, SettingDefinition>>;

/** One setting with its env var, as --help, flags, the config file and docs/settings.md list them. */
export type NamedSettingDefinition = SettingDefinition & { env: string };

/** Any value a setting can hold. */
export type SettingValue = string | number | boolean | readonly string[];

/** The TypeScript type of a definition's value, from its kind (an enum's: the union of its choices). */
export type ValueOf<D extends SettingDefinition> = D extends { kind: 'int' | 'duration' }
  ? number
  : D extends { kind: 'bool' }
    ? boolean
    : D extends { kind: 'list' }
      ? readonly string[]
      : D extends { kind: 'enum'; choices: readonly (infer C)[] }
        ? C
        : string;

/** Ports: 0-65535, and errors say so. */
export const PORT = { min: 0, max: 65535, rangeName: 'a port number' } as const;

/** `--upstream-url` for `UPSTREAM_URL`. */
export function flagName(env: string): string {
  return '--' + env.toLowerCase().replaceAll('_', '-');
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `10s`, `1.5m`, `1h` in milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * DURATION_MS[m[2]!]!;
}

/**
 * Reads `raw` as setting `env` of definition `def`, typed by its kind. A bad value throws a ConfigError
 * naming where it came from (`source`), the setting, what it must be and the value given.
 */
export function parseValue<D extends SettingDefinition>(
  env: string,
  def: D,
  raw: string,
  source: string,
): ValueOf<D> {
  const value = parseText(env, def, raw, source);
  if (isValueOf(def, value)) return value;
  // Unreachable while parseText returns each kind's type; the check is what lets ValueOf need no cast.
  throw new Error(`${env}: the ${def.kind} reader returned ${JSON.stringify(value)}`);
}

/** Whether `value` has the type the kind of `def` promises. */
function isValueOf<D extends SettingDefinition>(def: D, value: SettingValue): value is ValueOf<D> {
  const d: SettingDefinition = def;
  switch (d.kind) {
    case 'int':
    case 'duration':
      return typeof value === 'number';
    case 'bool':
      return typeof value === 'boolean';
    case 'list':
      return Array.isArray(value);
    case 'enum':
      return typeof value === 'string' && d.choices.includes(value);
    default:
      return typeof value === 'string';
  }
}

function parseText(env: string, def: SettingDefinition, raw: string, source: string): SettingValue {
  const bad = (why: string): never => {
    // A URL's userinfo may be a password: the error names the setting and the value without it.
    const shown = def.kind === 'url' ? redactUrl(raw) : raw;
    throw new ConfigError(source, env, `${why}, got ${JSON.stringify(shown)}`);
  };
  switch (def.kind) {
    case 'int': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(n) || n < 0) bad('must be a whole number >= 0');
      if (def.max !== undefined && n > def.max)
        bad(
          def.rangeName === undefined
            ? `must be at most ${def.max}`
            : `must be ${def.rangeName} (${def.min ?? 0}-${def.max})`,
        );
      if (def.min !== undefined && n < def.min) bad(`must be at least ${def.min}`);
      return n;
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off', ''].includes(v)) return false;
      return bad('must be true or false');
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined || ms < 0 || (ms === 0 && def.allowZero !== true))
        return bad('must be a duration such as 500ms, 10s or 1m');
      return ms;
    }
    case 'url': {
      // Also for a scheme other than http(s): "mimir:8080" parses as a URL of scheme "mimir:".
      if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol))
        bad('must be an absolute http:// or https:// URL');
      return raw;
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case 'enum': {
      const value = raw.trim();
      if (!def.choices.includes(value)) bad(`must be one of ${def.choices.join(', ')}`);
      return value;
    }
    case 'string':
      return raw;
  }
}
