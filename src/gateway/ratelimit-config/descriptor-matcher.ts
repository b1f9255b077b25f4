// Finds the limit for one request descriptor the way envoyproxy/ratelimit does: walk the domain's tree
// entry by entry, trying "key_value", then the `*` patterns in file order, then "key" alone; a limit counts
// only when it sits at the descriptor's last entry. Also builds envoyproxy/ratelimit's stats key for the
// match (detailed_metric, value_to_metric, share_threshold) and the share_threshold patterns that make
// every matching value share one counter. Pure and read-only: the config tree is never changed.

import type { DescriptorLimit, DescriptorNode, RateLimitConfig } from './descriptor-config.js';

export interface DescriptorEntry {
  key: string;
  value: string;
}

export interface LimitMatch {
  limit: DescriptorLimit;
  /**
   * envoyproxy/ratelimit's stats key for this request (`<key>` in ratelimit.service.rate_limit.<key>.*):
   * the limit's fullKey, or the key detailed_metric / value_to_metric / share_threshold build from the
   * request. Unsanitized, as the peer's Stats.Key.
   */
  metricKey: string;
  /**
   * share_threshold: per request entry index, the wildcard value (e.g. "files/*") that stands for the
   * request's value in the counter key, so all matching values share one counter; undefined when none.
   */
  sharedValues: readonly (string | undefined)[] | undefined;
}

/**
 * Whether `value` matches a pattern split on `*` (each `*` matches zero or more characters): it starts
 * with the first part, ends with the last, and holds the middle parts in order between them.
 */
export function wildcardMatch(parts: readonly string[], value: string): boolean {
  const n = parts.length;
  if (n === 1) return parts[0] === value;
  const first = parts[0]!;
  const lastPart = parts[n - 1]!;
  if (!value.startsWith(first) || !value.endsWith(lastPart)) return false;
  let fixed = 0;
  for (const p of parts) fixed += p.length;
  if (value.length < fixed) return false;
  // Middle parts are searched only between the consumed prefix and suffix.
  let pos = first.length;
  const end = value.length - lastPart.length;
  for (let i = 1; i < n - 1; i++) {
    const part = parts[i]!;
    const at = value.indexOf(part, pos);
    if (at < 0 || at + part.length > end) return false;
    pos = at + part.length;
  }
  return true;
}

/** The child for `keyValue` among `node`'s wildcards, first match in file order. */
function wildcardChild(node: DescriptorNode, keyValue: string): string | undefined {
  for (const w of node.wildcards) if (wildcardMatch(w.parts, keyValue)) return w.key;
  return undefined;
}

/** The limit for `entries` in `domain`, or undefined when no rule matches (or the domain is unknown). */
export function findLimit(
  config: RateLimitConfig,
  domain: string,
  entries: readonly DescriptorEntry[],
): LimitMatch | undefined {
  const domainNode = config.domains.get(domain);
  if (domainNode === undefined) return undefined;
  let node: DescriptorNode = domainNode;
  let limit: DescriptorLimit | undefined;
  let leaf: DescriptorNode | undefined;
  // A stats key other than the limit's fullKey needs a wildcard or value_to_metric on the path.
  let keyed = false;
  let shared: (string | undefined)[] | undefined;
  const last = entries.length - 1;
  for (let i = 0; i <= last; i++) {
    const entry = entries[i]!;
    const keyValue = `${entry.key}_${entry.value}`;
    let next: DescriptorNode | undefined = node.children.get(keyValue);
    let wildKey: string | undefined;
    if (next === undefined && node.wildcards.length > 0) {
      wildKey = wildcardChild(node, keyValue);
      if (wildKey !== undefined) next = node.children.get(wildKey);
    }
    next ??= node.children.get(entry.key);
    if (next !== undefined) {
      if (wildKey !== undefined || next.valueToMetric) keyed = true;
      if (wildKey !== undefined && next.shareThreshold) {
        shared ??= new Array<string | undefined>(entries.length).fill(undefined);
        shared[i] = trimPrefix(wildKey, `${entry.key}_`);
      }
      if (next.limit !== undefined && i === last) {
        limit = next.limit;
        leaf = next;
      }
      if (next.children.size > 0) {
        node = next;
        continue;
      }
    }
    break;
  }
  if (limit === undefined || leaf === undefined) return undefined;
  let metricKey = limit.fullKey;
  if (limit.detailedMetric) metricKey = detailedKey(domain, entries, shared);
  else if (keyed) metricKey = valueToMetricKey(domainNode, domain, entries, shared);
  return { limit, metricKey, sharedValues: shared };
}

function trimPrefix(s: string, prefix: string): string {
  return s.startsWith(prefix) ? s.slice(prefix.length) : s;
}

/**
 * detailed_metric: every entry as key_value (envoyproxy/ratelimit writes "key_" for an empty value here);
 * with share_threshold, a shared entry shows its pattern and the others key_value, or key when empty.
 */
function detailedKey(
  domain: string,
  entries: readonly DescriptorEntry[],
  shared: readonly (string | undefined)[] | undefined,
): string {
  let key = domain;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (shared === undefined) key += `.${e.key}_${e.value}`;
    else if (shared[i] !== undefined) key += `.${e.key}_${shared[i]}`;
    else key += e.value === '' ? `.${e.key}` : `.${e.key}_${e.value}`;
  }
  return key;
}

/**
 * The key without detailed_metric, level by level as the walk matched: a share_threshold wildcard shows
 * its pattern; another wildcard the request's value under value_to_metric, else its pattern; an exact
 * key_value its value; a key-only rule the value only under value_to_metric.
 */
function valueToMetricKey(
  domainNode: DescriptorNode,
  domain: string,
  entries: readonly DescriptorEntry[],
  shared: readonly (string | undefined)[] | undefined,
): string {
  let key = domain;
  let node = domainNode;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const keyValue = `${entry.key}_${entry.value}`;
    let next: DescriptorNode | undefined = node.children.get(keyValue);
    const byValue = next !== undefined;
    let wildKey: string | undefined;
    if (next === undefined && node.wildcards.length > 0) {
      wildKey = wildcardChild(node, keyValue);
      if (wildKey !== undefined) next = node.children.get(wildKey);
    }
    next ??= node.children.get(entry.key);
    if (next === undefined) return `${key}.${entry.key}`;
    let value = '';
    if (wildKey !== undefined) {
      const sharedValue = shared?.[i];
      if (sharedValue !== undefined) value = sharedValue;
      else if (next.valueToMetric) value = entry.value;
      else value = trimPrefix(wildKey, `${entry.key}_`);
    } else if (byValue || next.valueToMetric) value = entry.value;
    key += value === '' ? `.${entry.key}` : `.${entry.key}_${value}`;
    if (next.children.size === 0) break;
    node = next;
  }
  return key;
}
