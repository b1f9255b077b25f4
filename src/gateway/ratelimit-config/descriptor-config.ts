// envoyproxy/ratelimit's descriptor configuration (domain, nested key/value descriptors, rate_limit with
// unit and requests_per_unit, unlimited, shadow_mode, quota_mode, name/replaces, detailed_metric,
// value_to_metric, share_threshold, metadata, `*` wildcards anywhere in a value), parsed and validated into
// an immutable tree. Pure: no file I/O and no clock; every error names the file, the path inside it and the
// bad value, as envoyproxy/ratelimit's loader would refuse it.

import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../lib/config-error.js';

/** RateLimitResponse.RateLimit.Unit codes (envoy.service.ratelimit.v3) and their window lengths. */
export const UNIT_CODES = { second: 1, minute: 2, hour: 3, day: 4, month: 5, year: 6 } as const;
export type UnitName = keyof typeof UNIT_CODES;
export type UnitCode = (typeof UNIT_CODES)[UnitName];
/** Window length per unit code, in seconds; month and year are 30 and 365 days, as envoyproxy/ratelimit. */
export const UNIT_SECONDS: Readonly<Record<number, number>> = {
  1: 1,
  2: 60,
  3: 3600,
  4: 86_400,
  5: 30 * 86_400,
  6: 365 * 86_400,
};

export interface DescriptorLimit {
  /** domain.key_value.key…: the descriptor's place in the config (envoyproxy's stats key). */
  fullKey: string;
  requestsPerUnit: number;
  /** Unit code; 0 when unlimited. */
  unit: number;
  unlimited: boolean;
  shadowMode: boolean;
  /** Optional name other limits can replace. */
  name: string;
  replaces: readonly string[];
  /** Include the request's value in the metric label even where the config has no value. */
  detailedMetric: boolean;
  /** An over-limit answer fails the request only when every quota-mode descriptor of it is over. */
  quotaMode: boolean;
  /** The descriptor's `metadata` mapping, as written (envoyproxy/ratelimit's dynamic metadata source). */
  metadata: Readonly<Record<string, unknown>> | undefined;
}

/** A `*` pattern over "key_value", split on `*` once at load so matching allocates nothing. */
export interface WildcardEntry {
  /** The child's map key, e.g. "path_bar*baz". */
  readonly key: string;
  /** `key` split on `*`, e.g. ["path_bar", "baz"]. */
  readonly parts: readonly string[];
}

export interface DescriptorNode {
  /** Children by "key" (any value) or "key_value". */
  readonly children: ReadonlyMap<string, DescriptorNode>;
  /** Children whose "key_value" holds a `*`, in file order (tried only when no exact key_value matches). */
  readonly wildcards: readonly WildcardEntry[];
  readonly limit: DescriptorLimit | undefined;
  /** value_to_metric: the request's value goes into the stats key at this level. */
  readonly valueToMetric: boolean;
  /** share_threshold: every value matching this wildcard shares one counter (and one stats key). */
  readonly shareThreshold: boolean;
}

export interface RateLimitConfig {
  readonly domains: ReadonlyMap<string, DescriptorNode>;
  /** The files it came from, for status and errors. */
  readonly files: readonly string[];
}

export const EMPTY_RATELIMIT_CONFIG: RateLimitConfig = Object.freeze({
  domains: new Map<string, DescriptorNode>(),
  files: [],
});

const VALID_KEYS = new Set([
  'domain',
  'key',
  'value',
  'descriptors',
  'rate_limit',
  'unit',
  'requests_per_unit',
  'unlimited',
  'shadow_mode',
  'name',
  'replaces',
  'detailed_metric',
  'quota_mode',
  'value_to_metric',
  'share_threshold',
  'metadata',
]);

type Yaml = string | Yaml[] | { [key: string]: Yaml } | null;

function isMap(v: Yaml | undefined): v is { [key: string]: Yaml } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * envoyproxy/ratelimit refuses unknown keys anywhere in the file (with its wording), and lists of anything
 * but mappings; so do we, naming the path. What sits under `metadata` is free-form, as there.
 */
function validateKeys(file: string, value: Yaml, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (!isMap(item))
        throw new ConfigError(
          file,
          `${path}[${i}]`,
          `config error, yaml file contains list of type other than map: ${JSON.stringify(item)}`,
        );
      validateKeys(file, item, `${path}[${i}]`);
    });
  } else if (isMap(value)) {
    for (const [key, v] of Object.entries(value)) {
      const here = path ? `${path}.${key}` : key;
      if (!VALID_KEYS.has(key)) throw new ConfigError(file, here, `config error, unknown key '${key}'`);
      if (key === 'metadata') continue;
      validateKeys(file, v, here);
    }
  }
}

/**
 * `metadata` as envoyproxy/ratelimit turns it into a google.protobuf.Struct: a mapping of anything; a
 * scalar keeps the type YAML gives it there (number, bool, null, string).
 */
function metadataOf(file: string, path: string, v: Yaml | undefined): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) throw new ConfigError(file, path, 'error parsing metadata: must be a mapping');
  const typed = (x: Yaml): unknown => {
    if (Array.isArray(x)) return Object.freeze(x.map(typed));
    if (isMap(x)) {
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const [k, val] of Object.entries(x)) out[k] = typed(val);
      return Object.freeze(out);
    }
    if (x === null) return null;
    // The failsafe schema kept every scalar a string; read it back with YAML 1.1's types, as Go's yaml.v2.
    if (/^(true|yes|on)$/i.test(x)) return true;
    if (/^(false|no|off)$/i.test(x)) return false;
    if (/^(~|null)$/i.test(x)) return null;
    if (/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(x)) return Number(x);
    return x;
  };
  const out = typed(v) as Record<string, unknown>;
  return Object.keys(out).length === 0 ? undefined : out;
}

function scalar(file: string, path: string, v: Yaml | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new ConfigError(file, path, 'must be a single value');
  return v;
}

function bool(file: string, path: string, v: Yaml | undefined): boolean {
  const text = scalar(file, path, v).toLowerCase();
  if (text === '' || text === 'false' || text === 'no' || text === 'off') return false;
  if (text === 'true' || text === 'yes' || text === 'on') return true;
  throw new ConfigError(file, path, `must be true or false, got ${JSON.stringify(text)}`);
}

interface MutableNode {
  children: Map<string, MutableNode>;
  wildcards: WildcardEntry[];
  limit: DescriptorLimit | undefined;
  valueToMetric: boolean;
  shareThreshold: boolean;
}

function newNode(): MutableNode {
  return {
    children: new Map(),
    wildcards: [],
    limit: undefined,
    valueToMetric: false,
    shareThreshold: false,
  };
}

function loadDescriptors(
  file: string,
  node: MutableNode,
  parentKey: string,
  descriptors: Yaml | undefined,
  path: string,
): void {
  if (descriptors === undefined || descriptors === null) return;
  if (!Array.isArray(descriptors)) throw new ConfigError(file, path, 'must be a list of descriptors');
  descriptors.forEach((d, i) => {
    const at = `${path}[${i}]`;
    if (!isMap(d)) throw new ConfigError(file, at, 'must be a mapping');
    const key = scalar(file, `${at}.key`, d['key']);
    if (key === '') throw new ConfigError(file, at, 'descriptor has empty key');
    const value = scalar(file, `${at}.value`, d['value']);
    const finalKey = value === '' ? key : `${key}_${value}`;
    const fullKey = parentKey + finalKey;
    if (node.children.has(finalKey)) {
      throw new ConfigError(file, at, `duplicate descriptor composite key '${fullKey}'`);
    }
    const child = newNode();
    child.valueToMetric = bool(file, `${at}.value_to_metric`, d['value_to_metric']);
    child.shareThreshold = bool(file, `${at}.share_threshold`, d['share_threshold']);
    const wildcard = finalKey.includes('*');
    if (child.shareThreshold && !wildcard) {
      throw new ConfigError(
        file,
        `${at}.share_threshold`,
        `share_threshold can only be used with wildcard values (containing '*'), but found key '${finalKey}'`,
      );
    }
    const metadata = metadataOf(file, `${at}.metadata`, d['metadata']);
    const rl = d['rate_limit'];
    if (rl !== undefined && rl !== null) {
      if (!isMap(rl)) throw new ConfigError(file, `${at}.rate_limit`, 'must be a mapping');
      const unlimited = bool(file, `${at}.rate_limit.unlimited`, rl['unlimited']);
      const unitText = scalar(file, `${at}.rate_limit.unit`, rl['unit']).toLowerCase();
      const unit = (UNIT_CODES as Record<string, number>)[unitText];
      if (unlimited && unit !== undefined) {
        throw new ConfigError(
          file,
          `${at}.rate_limit.unit`,
          'should not specify rate limit unit when unlimited',
        );
      }
      if (!unlimited && unitText === 'week') {
        // Newer Envoy protos have WEEK; the unit code we would have to send back is not settled here yet.
        throw new ConfigError(
          file,
          `${at}.rate_limit.unit`,
          "unit 'week' is accepted by envoyproxy/ratelimit but not supported yet here (use day with 7× the requests)",
        );
      }
      if (!unlimited && unit === undefined) {
        throw new ConfigError(
          file,
          `${at}.rate_limit.unit`,
          `invalid rate limit unit '${unitText}' (use one of ${Object.keys(UNIT_CODES).join(', ')})`,
        );
      }
      const rpuText = scalar(file, `${at}.rate_limit.requests_per_unit`, rl['requests_per_unit']) || '0';
      const requestsPerUnit = Number(rpuText);
      if (!/^\d+$/.test(rpuText) || requestsPerUnit > 0xffff_ffff) {
        throw new ConfigError(
          file,
          `${at}.rate_limit.requests_per_unit`,
          `must be a whole number from 0 to 4294967295, got ${JSON.stringify(rpuText)}`,
        );
      }
      const name = scalar(file, `${at}.rate_limit.name`, rl['name']);
      const replacesYaml = rl['replaces'];
      const replaces: string[] = [];
      if (replacesYaml !== undefined && replacesYaml !== null) {
        if (!Array.isArray(replacesYaml))
          throw new ConfigError(file, `${at}.rate_limit.replaces`, 'must be a list of {name: ...}');
        replacesYaml.forEach((r, j) => {
          const rp = `${at}.rate_limit.replaces[${j}]`;
          const replaced = isMap(r) ? scalar(file, `${rp}.name`, r['name']) : '';
          if (replaced === '') throw new ConfigError(file, rp, 'should not have an empty replaces entry');
          if (replaced === name)
            throw new ConfigError(file, rp, 'replaces should not contain name of same descriptor');
          replaces.push(replaced);
        });
      }
      child.limit = Object.freeze({
        fullKey,
        requestsPerUnit,
        unit: unlimited ? 0 : unit!,
        unlimited,
        shadowMode: bool(file, `${at}.shadow_mode`, d['shadow_mode']),
        name,
        replaces: Object.freeze(replaces),
        detailedMetric: bool(file, `${at}.detailed_metric`, d['detailed_metric']),
        quotaMode: bool(file, `${at}.quota_mode`, d['quota_mode']),
        metadata,
      });
    }
    loadDescriptors(file, child, `${fullKey}.`, d['descriptors'], `${at}.descriptors`);
    node.children.set(finalKey, child);
    if (wildcard)
      node.wildcards.push(Object.freeze({ key: finalKey, parts: Object.freeze(finalKey.split('*')) }));
  });
}

function freeze(node: MutableNode): DescriptorNode {
  for (const child of node.children.values()) freeze(child);
  Object.freeze(node.wildcards);
  return Object.freeze(node);
}

export interface ConfigFileText {
  /** File name, used in errors. */
  name: string;
  text: string;
}

export interface ParseOptions {
  /**
   * envoyproxy/ratelimit's MERGE_DOMAIN_CONFIG: files naming the same domain add their descriptors to it
   * (a key both define is still a duplicate). Off: a domain may appear in only one file.
   */
  mergeDomains?: boolean;
}

/** Parses one or more descriptor files into one config. */
export function parseRateLimitConfig(
  files: readonly ConfigFileText[],
  options: ParseOptions = {},
): RateLimitConfig {
  const building = new Map<string, MutableNode>();
  for (const { name, text } of files) {
    let root: Yaml;
    try {
      // Every scalar stays a string (YAML failsafe schema), so `value: 010` keeps its zero as Envoy sends it.
      root = parseYaml(text, { schema: 'failsafe' }) as Yaml;
    } catch (err) {
      throw new ConfigError(name, '', `error loading config file: ${(err as Error).message.split('\n')[0]}`);
    }
    if (root === null || root === undefined)
      throw new ConfigError(name, '', 'config file cannot have empty domain');
    if (!isMap(root))
      throw new ConfigError(name, '', 'the top level must be a mapping with domain and descriptors');
    validateKeys(name, root, '');
    const domain = scalar(name, 'domain', root['domain']);
    if (domain === '') throw new ConfigError(name, 'domain', 'config file cannot have empty domain');
    let node = building.get(domain);
    if (node !== undefined && options.mergeDomains !== true)
      throw new ConfigError(name, 'domain', `duplicate domain '${domain}' in config file`);
    if (node === undefined) {
      node = newNode();
      building.set(domain, node);
    }
    loadDescriptors(name, node, `${domain}.`, root['descriptors'], 'descriptors');
  }
  const domains = new Map<string, DescriptorNode>();
  for (const [domain, node] of building) domains.set(domain, freeze(node));
  return Object.freeze({ domains, files: Object.freeze(files.map((f) => f.name)) });
}
