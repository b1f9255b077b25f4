// The geography side of a policy set: the countries and ASNs it names (so a request is looked up only for
// what some rule asks, and metrics label only those), and its country/ASN allow and block lists.

import type { GeoResolver } from '../geo/geo-resolver.js';
import type { PolicySetInput } from './policy-schema.js';
import type { RequestContext } from './request-context.js';

export interface GeoList {
  readonly countries: ReadonlySet<string>;
  readonly asns: ReadonlySet<number>;
}

export interface GeoRules {
  /** Whether a request needs its country (a country is named, or a policy counts per country), its ASN. */
  readonly byCountry: boolean;
  readonly byAsn: boolean;
  /** Every country and ASN named in a list or a policy's match (what metrics may label). */
  readonly countries: ReadonlySet<string>;
  readonly asns: ReadonlySet<number>;
  readonly allow: GeoList | undefined;
  readonly block: GeoList | undefined;
}

function geoList(list: PolicySetInput['allow']): GeoList | undefined {
  if (list?.countries === undefined && list?.asns === undefined) return undefined;
  return { countries: new Set(list.countries), asns: new Set(list.asns) };
}

/** The set's geography, or undefined when no rule needs a country or an ASN (then nothing is looked up). */
export function compileGeoRules(set: PolicySetInput): GeoRules | undefined {
  const countries = new Set<string>();
  const asns = new Set<number>();
  for (const source of [set.allow, set.block, ...set.policies.map((p) => p.match)]) {
    source?.countries?.forEach((c) => countries.add(c));
    source?.asns?.forEach((a) => asns.add(a));
  }
  const counts = (field: 'country' | 'asn') =>
    set.policies.some((p) => p.match?.scope === field || p.match?.key?.includes(`{${field}}`) === true);
  const byCountry = countries.size > 0 || counts('country');
  const byAsn = asns.size > 0 || counts('asn');
  if (!byCountry && !byAsn) return undefined;
  return { byCountry, byAsn, countries, asns, allow: geoList(set.allow), block: geoList(set.block) };
}

/** Fills in the client's country and ASN where the rules need them and the caller did not give them. */
export function locate(ctx: RequestContext, rules: GeoRules, resolver: GeoResolver): void {
  const ip = ctx.ip;
  if (ip === undefined) return;
  if (rules.byCountry && ctx.country === undefined) {
    const country = resolver.country(ip);
    if (country !== undefined) ctx.country = country;
  }
  if (rules.byAsn && ctx.asn === undefined) {
    const asn = resolver.asn(ip);
    if (asn !== undefined) ctx.asn = asn;
  }
}

export function geoListed(list: GeoList | undefined, ctx: RequestContext): boolean {
  if (list === undefined) return false;
  return (
    (ctx.country !== undefined && list.countries.has(ctx.country)) ||
    (ctx.asn !== undefined && list.asns.has(ctx.asn))
  );
}
