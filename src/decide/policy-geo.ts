// The service's side of country and ASN rules: opens GEOIP_COUNTRY_DATABASE and GEOIP_ASN_DATABASE (a bad
// file stops the start; later, a bad file is logged, counted, and the last good database stays in force),
// refuses a policy set naming countries or ASNs that no database can give, and counts requests by country
// and ASN, labelled only by the countries and ASNs the rules name, so the label set stays bounded.

import type { Counter } from 'prom-client';
import { ConfigError } from '../lib/config-error.js';
import { GeoDatabaseError } from '../lib/geo/geo-database.js';
import { GeoIpDatabases } from '../lib/geo/geo-databases.js';
import type { GeoRules } from '../lib/policy/geo-rules.js';
import type { PolicyEvaluation } from '../lib/policy/policy-engine.js';
import type { CompiledPolicySet } from '../lib/policy/policy-set.js';
import type { RequestContext } from '../lib/policy/request-context.js';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';
import type { Settings } from '../settings/settings.js';

/** Label values for a client outside what the rules name, and for one the database does not know. */
export const OTHER_LABEL = '<other>';
export const UNKNOWN_LABEL = '<unknown>';

type GeoDecision = 'allowed' | 'rate_limited' | 'blocked';
type Children = Record<GeoDecision, ReturnType<Counter<'country' | 'decision'>['labels']>>;

/**
 * Opens the GEOIP_* databases, or undefined when neither is set. Throws ConfigError naming the setting and
 * what is wrong with its file.
 */
export function openGeoDatabases(
  settings: Settings,
  log: Logger,
  metrics: EdgeMetrics,
): GeoIpDatabases | undefined {
  const { countryDatabase, asnDatabase, reloadMs } = settings.geo;
  if (countryDatabase === '' && asnDatabase === '') return undefined;
  let geo: GeoIpDatabases;
  try {
    geo = new GeoIpDatabases({
      ...(countryDatabase !== '' ? { countryDatabase } : {}),
      ...(asnDatabase !== '' ? { asnDatabase } : {}),
      reloadIntervalMs: reloadMs,
      onReload: (e) => {
        metrics.geoDatabaseLoads.labels(e.kind, e.result).inc();
        if (e.result === 'applied')
          log.info({ geoip_database: e.path }, `${e.kind} database applied: ${e.detail}`);
        else
          log.error(
            { geoip_database: e.path },
            `${e.kind} database refused, keeping the last good one: ${e.detail}`,
          );
      },
    });
  } catch (err) {
    if (!(err instanceof GeoDatabaseError)) throw err;
    const setting =
      err.message.startsWith(`${countryDatabase}:`) && countryDatabase !== ''
        ? 'GEOIP_COUNTRY_DATABASE'
        : 'GEOIP_ASN_DATABASE';
    throw new ConfigError(setting, '', err.message);
  }
  for (const s of geo.status()) {
    metrics.geoDatabaseLoads.labels(s.kind, 'applied').inc();
    log.info(
      { geoip_database: s.path },
      `${s.kind} database: ${s.info.type} built ${new Date(s.info.buildEpoch * 1000).toISOString()}`,
    );
  }
  metrics.geoStatus = () => geo.status();
  return geo;
}

/** Why `set` cannot be applied with the databases at hand, or undefined. */
export function geoProblem(set: CompiledPolicySet, geo: GeoIpDatabases | undefined): string | undefined {
  const rules = set.geo;
  if (rules === undefined) return undefined;
  const missing: string[] = [];
  if (rules.byCountry && geo?.hasCountries !== true)
    missing.push('countries, but GEOIP_COUNTRY_DATABASE is not set');
  if (rules.byAsn && geo?.hasAsns !== true) missing.push('ASNs, but GEOIP_ASN_DATABASE is not set');
  return missing.length === 0 ? undefined : `the policies name ${missing.join('; and ')}`;
}

/** rls_geo_requests_total and rls_geo_asn_requests_total; label children cached, so a count is a lookup. */
export class GeoRequestCounter {
  private readonly countries = new Map<string, Children>();
  private readonly asns = new Map<number | string, Children>();

  constructor(private readonly metrics: EdgeMetrics) {}

  record(rules: GeoRules | undefined, e: PolicyEvaluation, ctx: RequestContext): void {
    if (rules === undefined) return;
    const decision: GeoDecision =
      e.outcome === 'blocked' ? 'blocked' : e.allowed ? 'allowed' : 'rate_limited';
    if (rules.byCountry) {
      const c = ctx.country;
      const label = c === undefined ? UNKNOWN_LABEL : rules.countries.has(c) ? c : OTHER_LABEL;
      this.child(this.countries, this.metrics.geoRequests, label)[decision].inc();
    }
    if (rules.byAsn) {
      const a = ctx.asn;
      const key = a === undefined ? UNKNOWN_LABEL : rules.asns.has(a) ? a : OTHER_LABEL;
      this.child(this.asns, this.metrics.geoAsnRequests, key)[decision].inc();
    }
  }

  private child<K extends string | number>(
    cache: Map<K, Children>,
    counter: Counter<string>,
    key: K,
  ): Children {
    let c = cache.get(key);
    if (c === undefined) {
      const label = String(key);
      c = {
        allowed: counter.labels(label, 'allowed'),
        rate_limited: counter.labels(label, 'rate_limited'),
        blocked: counter.labels(label, 'blocked'),
      };
      cache.set(key, c);
    }
    return c;
  }
}
