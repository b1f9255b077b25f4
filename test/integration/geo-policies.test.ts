// Country and ASN rules end to end, on all four entry points: the proxy, Envoy ext_authz (the client is
// attributes.source.address), the authz endpoint and the library's node:http middleware. The databases are
// MaxMind DB files written by the test; one of them is replaced under load, and no request may fail.

import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { GeoIpDatabases, withRateLimit } from '../../src/index.js';
import { ConfigError } from '../../src/lib/config-error.js';
import { startService } from '../../src/app/service.js';
import { createLogger } from '../../src/observe/logger.js';
import { loadSettings } from '../../src/settings/settings.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient } from '../helpers/grpc-client.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { asnRecord, countryRecord, writeMmdb } from '../helpers/mmdb-writer.js';

// 198.51.100.0/24: CN, AS64496. 203.0.113.0/24: RU, AS64497. 192.0.2.0/24: US (RU in the second build), AS64498.
const CN_IP = '198.51.100.10';
const RU_IP = '203.0.113.10';
const US_IP = '192.0.2.10';

function countryDatabase(build: 1 | 2): Buffer {
  return writeMmdb(
    [
      { network: '198.51.100.0/24', data: countryRecord('CN') },
      { network: '203.0.113.0/24', data: countryRecord('RU') },
      { network: '192.0.2.0/24', data: countryRecord(build === 1 ? 'US' : 'RU') },
    ],
    { databaseType: 'GeoLite2-Country', buildEpoch: 1_700_000_000 + build },
  );
}

const ASN_DB = writeMmdb(
  [
    { network: '198.51.100.0/24', data: asnRecord(64496) },
    { network: '203.0.113.0/24', data: asnRecord(64497) },
    { network: '192.0.2.0/24', data: asnRecord(64498) },
  ],
  { databaseType: 'GeoLite2-ASN' },
);

const POLICIES = `
block:
  countries: [RU]
policies:
  - name: cn-per-ip
    match: { scope: ip, countries: [CN] }
    limit: { algorithm: fixed_window, limit: 2, window: 1h }
  - name: as64498
    match: { scope: asn, asns: [AS64498] }
    limit: { algorithm: fixed_window, limit: 1000, window: 1h }
`;

interface Files {
  dir: string;
  country: string;
  asn: string;
  policies: string;
  /** Replaces the country database as an updater does: a new file renamed over the old one. */
  replaceCountry(bytes: Buffer | string): void;
}

function files(policies = POLICIES): Files {
  const dir = mkdtempSync(join(tmpdir(), 'geo-policies-'));
  const f = {
    dir,
    country: join(dir, 'GeoLite2-Country.mmdb'),
    asn: join(dir, 'GeoLite2-ASN.mmdb'),
    policies: join(dir, 'policies.yaml'),
  };
  writeFileSync(f.country, countryDatabase(1));
  writeFileSync(f.asn, ASN_DB);
  writeFileSync(f.policies, policies);
  let n = 0;
  return {
    ...f,
    replaceCountry(bytes) {
      const tmp = join(dir, `next-${n++}.mmdb`);
      writeFileSync(tmp, bytes);
      renameSync(tmp, f.country);
    },
  };
}

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function edgeWith(f: Files, env: Record<string, string> = {}): Promise<EdgeUnderTest> {
  const upstream = await startRecordingUpstream();
  stops.push(() => upstream.close());
  const edge = await startEdge(upstream.url, {
    POLICY_FILE: f.policies,
    TRUSTED_PROXIES: '127.0.0.1',
    GEOIP_COUNTRY_DATABASE: f.country,
    GEOIP_ASN_DATABASE: f.asn,
    GEOIP_RELOAD_INTERVAL: '0s',
    ...env,
  });
  stops.push(() => edge.stop());
  return edge;
}

async function proxyGet(
  edge: EdgeUnderTest,
  ip: string,
): Promise<{ status: number; code?: string; policy?: string }> {
  const res = await request(`${edge.proxyUrl}/api/thing`, { headers: { 'x-forwarded-for': ip } });
  const text = await res.body.text();
  if (res.statusCode === 200) return { status: 200 };
  const body = JSON.parse(text) as { error: { code: string; details?: { policy?: string } } };
  return { status: res.statusCode, code: body.error.code, policy: body.error.details?.policy ?? '' };
}

async function metrics(edge: EdgeUnderTest): Promise<string> {
  return (await request(edge.metricsUrl)).body.text();
}

function metric(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

describe('country and ASN rules on the four entry points', () => {
  it('proxy: blocks RU with 403, throttles each CN address with its policy, passes others; counts by named country', async () => {
    const edge = await edgeWith(files());
    expect(await proxyGet(edge, RU_IP)).toEqual({
      status: 403,
      code: 'ACCESS_BLOCKED',
      policy: 'block_list',
    });
    expect((await proxyGet(edge, CN_IP)).status).toBe(200);
    expect((await proxyGet(edge, CN_IP)).status).toBe(200);
    expect(await proxyGet(edge, CN_IP)).toEqual({
      status: 429,
      code: 'RATE_LIMIT_EXCEEDED',
      policy: 'cn-per-ip',
    });
    expect((await proxyGet(edge, '198.51.100.11')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await proxyGet(edge, US_IP)).status).toBe(200);
    expect((await proxyGet(edge, '100.64.0.1')).status).toBe(200);

    const m = await metrics(edge);
    expect(metric(m, 'rls_geo_requests_total{country="RU",decision="blocked"}')).toBe(1);
    expect(metric(m, 'rls_geo_requests_total{country="CN",decision="allowed"}')).toBe(3);
    expect(metric(m, 'rls_geo_requests_total{country="CN",decision="rate_limited"}')).toBe(1);
    // US is named by no rule: it is counted as <other>, never under its own label.
    expect(metric(m, 'rls_geo_requests_total{country="<other>",decision="allowed"}')).toBe(3);
    expect(m).not.toContain('country="US"');
    expect(metric(m, 'rls_geo_requests_total{country="<unknown>",decision="allowed"}')).toBe(1);
    expect(metric(m, 'rls_geo_asn_requests_total{asn="64498",decision="allowed"}')).toBe(3);
    expect(metric(m, 'rls_geo_asn_requests_total{asn="<other>",decision="allowed"}')).toBe(3);
    expect(metric(m, 'rls_geo_database_loads_total{database="country",result="applied"}')).toBe(1);
    expect(metric(m, 'rls_geo_database_loads_total{database="asn",result="applied"}')).toBe(1);
    expect(metric(m, 'rls_geo_database_build_epoch_seconds{database="country"}')).toBe(1_700_000_001);
  });

  it('Envoy ext_authz: the client is attributes.source.address', async () => {
    const edge = await edgeWith(files());
    const client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
    stops.push(() => client.close());
    const ask = (source: string) => client.check({ method: 'GET', path: '/api/thing', headers: {}, source });
    expect((await ask(RU_IP)).denied_response?.status?.code).toBe('Forbidden');
    expect((await ask(CN_IP)).ok_response).not.toBeNull();
    expect((await ask(CN_IP)).ok_response).not.toBeNull();
    expect((await ask(CN_IP)).denied_response?.status?.code).toBe('TooManyRequests');
    expect((await ask(US_IP)).ok_response).not.toBeNull();
  });

  it('authz endpoint (AUTHZ_HTTP_PATH): the client is the gateway-forwarded address', async () => {
    const edge = await edgeWith(files());
    const ask = async (ip: string) =>
      (
        await request(`${edge.proxyUrl}/_edge/authz`, {
          headers: { 'x-original-uri': '/api/thing', 'x-original-method': 'GET', 'x-forwarded-for': ip },
        })
      ).statusCode;
    expect(await ask(RU_IP)).toBe(403);
    expect(await ask(CN_IP)).toBe(200);
    expect(await ask(CN_IP)).toBe(200);
    expect(await ask(CN_IP)).toBe(429);
    expect(await ask(US_IP)).toBe(200);
  });

  it('library middleware: the geo option with GeoIpDatabases', async () => {
    const f = files();
    const geo = new GeoIpDatabases({ countryDatabase: f.country, asnDatabase: f.asn, reloadIntervalMs: 0 });
    stops.push(() => geo.close());
    const server = createServer(
      withRateLimit((_req, res) => res.end('ok'), {
        policies: POLICIES,
        geo,
        clientIp: { trustedProxies: ['127.0.0.1'] },
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const ask = async (ip: string) => (await request(url, { headers: { 'x-forwarded-for': ip } })).statusCode;
    expect(await ask(RU_IP)).toBe(403);
    expect([await ask(CN_IP), await ask(CN_IP), await ask(CN_IP)]).toEqual([200, 200, 429]);
    expect(await ask(US_IP)).toBe(200);
  });
});

describe('country database reload', () => {
  it('replaces the database under load without a failed request; a bad file keeps the last good one, counted', async () => {
    const f = files();
    const edge = await edgeWith(f);
    let stop = false;
    const seen = new Map<number, number>();
    const errors: string[] = [];
    const worker = async () => {
      while (!stop) {
        try {
          const res = await request(`${edge.proxyUrl}/api/thing`, { headers: { 'x-forwarded-for': US_IP } });
          await res.body.text();
          seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    };
    const load = Promise.all([worker(), worker(), worker(), worker()]);
    const pause = () => new Promise((r) => setTimeout(r, 100));
    try {
      await pause();
      // A bad file (a truncated copy, as a download cut short leaves): refused, US still passes.
      f.replaceCountry(countryDatabase(2).subarray(0, 200));
      await edge.service.reloadPolicies();
      await pause();
      expect((await proxyGet(edge, US_IP)).status).toBe(200);
      // Good files, swapped back and forth under load.
      for (const build of [2, 1, 2] as const) {
        f.replaceCountry(countryDatabase(build));
        await edge.service.reloadPolicies();
        await pause();
      }
    } finally {
      stop = true;
      await load;
    }
    expect(errors).toEqual([]);
    // Only the two answers the two builds give: 200 (US) and 403 (RU); nothing failed.
    expect([...seen.keys()].sort()).toEqual([200, 403]);
    expect((seen.get(200) ?? 0) + (seen.get(403) ?? 0)).toBeGreaterThan(20);
    // In force now: the second build, where 192.0.2.0/24 is RU.
    expect((await proxyGet(edge, US_IP)).status).toBe(403);
    const m = await metrics(edge);
    expect(metric(m, 'rls_geo_database_loads_total{database="country",result="applied"}')).toBe(4);
    expect(metric(m, 'rls_geo_database_loads_total{database="country",result="error"}')).toBe(1);
    expect(metric(m, 'rls_geo_database_build_epoch_seconds{database="country"}')).toBe(1_700_000_002);
    expect(edge.logs()).toContain('country database refused, keeping the last good one');
  });

  it('finds a changed file by polling GEOIP_RELOAD_INTERVAL alone', async () => {
    const f = files();
    const edge = await edgeWith(f, { GEOIP_RELOAD_INTERVAL: '50ms' });
    expect((await proxyGet(edge, US_IP)).status).toBe(200);
    f.replaceCountry(countryDatabase(2));
    const deadline = Date.now() + 5000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await proxyGet(edge, US_IP)).status;
    }
    expect(status).toBe(403);
  });
});

describe('a policy reload naming countries without a country database', () => {
  it('is refused, and the last good set stays in force', async () => {
    const f = files('block: { asns: [64497] }\npolicies: []\n');
    const edge = await edgeWith(f, { GEOIP_COUNTRY_DATABASE: '' });
    expect((await proxyGet(edge, RU_IP)).status).toBe(403);
    expect((await proxyGet(edge, CN_IP)).status).toBe(200);
    writeFileSync(f.policies, 'block: { countries: [CN] }\npolicies: []\n');
    await edge.service.reloadPolicies();
    expect((await proxyGet(edge, CN_IP)).status).toBe(200);
    expect((await proxyGet(edge, RU_IP)).status).toBe(403);
    expect(metric(await metrics(edge), 'rls_policy_reloads_total{result="error"}')).toBe(1);
    expect(edge.logs()).toContain('the policies name countries, but GEOIP_COUNTRY_DATABASE is not set');
  });
});

describe('country and ASN rules at start', () => {
  async function startError(env: Record<string, string>): Promise<unknown> {
    const settings = loadSettings(
      {
        BIND_ADDRESS: '127.0.0.1',
        PROXY_PORT: '0',
        ADMIN_PORT: '0',
        METRICS_PORT: '0',
        EXT_AUTHZ_PORT: '0',
        RATELIMIT_PORT: '0',
        ADMIN_TOKEN: 'geo-policies-test-admin-token',
        ...env,
      },
      [],
    );
    return startService(settings, { log: createLogger('silent', 'json') }).then(
      async (s) => {
        await s.stop(0, 0);
        return undefined;
      },
      (err: unknown) => err,
    );
  }

  it('refuses a policy set naming countries without GEOIP_COUNTRY_DATABASE, and a database file that is not one', async () => {
    const f = files();
    const missing = await startError({ POLICY_FILE: f.policies, GEOIP_ASN_DATABASE: f.asn });
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as Error).message).toContain(
      'the policies name countries, but GEOIP_COUNTRY_DATABASE is not set',
    );
    writeFileSync(join(f.dir, 'bad.mmdb'), 'not a database');
    const bad = await startError({
      POLICY_FILE: f.policies,
      GEOIP_COUNTRY_DATABASE: join(f.dir, 'bad.mmdb'),
      GEOIP_ASN_DATABASE: f.asn,
    });
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as Error).message).toContain('GEOIP_COUNTRY_DATABASE');
    expect((bad as Error).message).toContain('not a MaxMind DB file');
  });
});
