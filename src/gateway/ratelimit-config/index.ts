// The ratelimit-config part's one public entry: envoyproxy/ratelimit's descriptor YAML, its matching, and
// the file source that reloads it. Nothing here counts requests or talks to the network.

export {
  EMPTY_RATELIMIT_CONFIG,
  UNIT_CODES,
  UNIT_SECONDS,
  parseRateLimitConfig,
} from './descriptor-config.js';
export type {
  ConfigFileText,
  DescriptorLimit,
  DescriptorNode,
  ParseOptions,
  RateLimitConfig,
  UnitCode,
  UnitName,
  WildcardEntry,
} from './descriptor-config.js';
export { findLimit, wildcardMatch } from './descriptor-matcher.js';
export type { DescriptorEntry, LimitMatch } from './descriptor-matcher.js';
export { RateLimitConfigSource, readRateLimitConfig } from './config-source.js';
export type { ConfigSourceStatus, ReloadOutcome } from './config-source.js';
