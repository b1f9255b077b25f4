// Finds the limit for one request descriptor the way envoyproxy/ratelimit does: walk the domain's tree
// entry by entry, trying "key_value", then a `*` wildcard prefix, then "key" alone; a limit counts only
// when it sits at the descriptor's last entry. Pure and read-only: the config tree is never changed.

import type { DescriptorLimit, DescriptorNode, RateLimitConfig } from './descriptor-config.js';

export interface DescriptorEntry {
  key: string;
  value: string;
}

export interface LimitMatch {
  limit: DescriptorLimit;
  /** Metric label: the limit's fullKey, plus "_<value>" when detailed_metric asks for it. */
  metricKey: string;
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
  let match: LimitMatch | undefined;
  const last = entries.length - 1;
  for (let i = 0; i <= last; i++) {
    const entry = entries[i]!;
    const keyValue = `${entry.key}_${entry.value}`;
    let next: DescriptorNode | undefined = node.children.get(keyValue);
    if (next === undefined) {
      for (const prefix of node.wildcardPrefixes) {
        if (keyValue.startsWith(prefix)) {
          next = node.children.get(prefix + '*');
          break;
        }
      }
    }
    next ??= node.children.get(entry.key);
    if (next?.limit !== undefined && i === last) {
      match = { limit: next.limit, metricKey: next.limit.fullKey };
    }
    if (next !== undefined && next.children.size > 0) {
      node = next;
      continue;
    }
    if (match !== undefined && match.limit.detailedMetric) {
      match = { limit: match.limit, metricKey: `${match.limit.fullKey}_${entry.value}` };
    }
    break;
  }
  return match;
}
