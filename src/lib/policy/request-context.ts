// What the policy engine knows about a request: identities already extracted (see src/identify) and
// the request line. Plain data so every transport (HTTP middleware, gRPC, the proxy) can build it.

export interface RequestContext {
  /** Client address (after trusted-proxy handling). */
  ip?: string;
  /** The key IP-scoped policies count by (IPv6 cut to its /64 by default); defaults to `ip`. */
  ipKey?: string;
  /**
   * The client's country (ISO 3166-1 alpha-2, upper case) and autonomous system. Looked up by the engine
   * (PolicyEngine.useGeo) when a rule names one; a caller may set them itself (e.g. from a header it trusts).
   */
  country?: string;
  asn?: number;
  user?: string;
  apiKey?: string;
  tenant?: string;
  /** Plan of the caller (free, pro, enterprise...), for tiered policies. */
  tier?: string;
  method?: string;
  /** Request path without the query string. */
  path?: string;
  /** Request headers with lower-case names. */
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Envoy-style descriptor entries. */
  descriptors?: Readonly<Record<string, string>>;
  /**
   * How much this request weighs (bytes, rows, tokens...): each policy takes its `cost` times this. Absent: 1.
   * A weight of 0 takes nothing.
   */
  weight?: number;
}
