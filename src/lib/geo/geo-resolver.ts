// What the policy engine asks about a client address for geography rules. The MaxMind reader
// (GeoIpDatabases) is one answer; a caller may give its own (tests, a CDN's country header it trusts).

export interface GeoResolver {
  /** The ISO 3166-1 alpha-2 code (upper case) of the country `ip` is in; undefined when unknown. */
  country(ip: string): string | undefined;
  /** The autonomous system that announces `ip`; undefined when unknown. */
  asn(ip: string): number | undefined;
}
