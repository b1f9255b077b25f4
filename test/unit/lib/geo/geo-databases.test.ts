// MaxMind DB files written by test/helpers/mmdb-writer.ts, read through GeoDatabase (mmdb-lib): lookups
// agree with the networks written (a property over random networks), a file that cannot serve is refused
// with its reason, and GeoIpDatabases swaps a changed file in while a bad one keeps the last good database.

import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GeoDatabase, GeoDatabaseError } from '../../../../src/lib/geo/geo-database.js';
import type { GeoReloadEvent } from '../../../../src/lib/geo/geo-databases.js';
import { GeoIpDatabases } from '../../../../src/lib/geo/geo-databases.js';
import { asnRecord, countryRecord, writeMmdb } from '../../../helpers/mmdb-writer.js';
import type { MmdbNetwork } from '../../../helpers/mmdb-writer.js';

const COUNTRY = 'GeoLite2-Country';

function countryDb(networks: [string, string][], options: Partial<Parameters<typeof writeMmdb>[1]> = {}) {
  const rows: MmdbNetwork[] = networks.map(([network, iso]) => ({ network, data: countryRecord(iso) }));
  return new GeoDatabase('country', writeMmdb(rows, { databaseType: COUNTRY, ...options }));
}

describe('GeoDatabase over a written MMDB file', () => {
  it('finds the country of IPv4 and IPv6 addresses, the narrower network inside a wider one, and nothing outside', () => {
    const db = countryDb([
      ['198.51.100.0/24', 'CN'],
      ['198.51.100.128/25', 'RU'],
      ['2001:db8::/32', 'DE'],
    ]);
    expect(db.country('198.51.100.1')).toBe('CN');
    expect(db.country('198.51.100.200')).toBe('RU');
    expect(db.country('2001:db8:1::5')).toBe('DE');
    expect(db.country('203.0.113.1')).toBeUndefined();
    expect(db.country('2001:db9::1')).toBeUndefined();
    expect(db.country('not an address')).toBeUndefined();
    expect(db.country('::ffff:198.51.100.200')).toBe('RU');
    expect(db.info).toMatchObject({ type: COUNTRY, ipVersion: 6, buildEpoch: 1_700_000_000 });
  });

  for (const recordSize of [24, 28, 32] as const) {
    it(`reads ${recordSize}-bit records and IPv4-only trees`, () => {
      const db = countryDb([['192.0.2.0/24', 'FR']], { recordSize, ipVersion: 4 });
      expect(db.country('192.0.2.9')).toBe('FR');
      expect(db.country('::FFFF:192.0.2.9')).toBe('FR');
      expect(db.country('2001:db8::1')).toBeUndefined();
    });
  }

  it('falls back to registered_country, and reads ASN records', () => {
    const anycast = new GeoDatabase(
      'country',
      writeMmdb([{ network: '192.0.2.0/24', data: { registered_country: { iso_code: 'US' } } }], {
        databaseType: 'GeoIP2-City',
      }),
    );
    expect(anycast.country('192.0.2.1')).toBe('US');
    const asn = new GeoDatabase(
      'asn',
      writeMmdb([{ network: '192.0.2.0/24', data: asnRecord(64496) }], { databaseType: 'GeoLite2-ASN' }),
    );
    expect(asn.asn('192.0.2.1')).toBe(64496);
    expect(asn.asn('192.0.3.1')).toBeUndefined();
  });

  it('agrees with the networks written: the last network listed that holds an address answers', () => {
    const network = fc
      .tuple(fc.nat(0xffff_ffff), fc.integer({ min: 4, max: 32 }), fc.constantFrom('CN', 'RU', 'US', 'BR'))
      .map(([addr, prefix, iso]) => {
        const base = prefix === 32 ? addr : (addr >>> (32 - prefix)) << (32 - prefix);
        return { base: base >>> 0, prefix, iso };
      });
    fc.assert(
      fc.property(
        fc.array(network, { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(0xffff_ffff), { maxLength: 30 }),
        (nets, probes) => {
          const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
          const db = countryDb(nets.map((n) => [`${dotted(n.base)}/${n.prefix}`, n.iso]));
          // Probe each network's first address too, so hits are not left to chance.
          for (const ip of [...probes, ...nets.map((n) => n.base)]) {
            let expected: string | undefined;
            for (const n of nets) {
              const mask = n.prefix === 0 ? 0 : (0xffff_ffff << (32 - n.prefix)) >>> 0;
              if ((ip & mask) >>> 0 === n.base) expected = n.iso;
            }
            expect(db.country(dotted(ip))).toBe(expected);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses what cannot serve, saying why', () => {
    const refusal = (kind: 'country' | 'asn', bytes: Buffer) => {
      try {
        new GeoDatabase(kind, bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(GeoDatabaseError);
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(refusal('country', Buffer.from('hello, not a database'))).toMatch(/^not a MaxMind DB file/);
    const asn = writeMmdb([{ network: '192.0.2.0/24', data: asnRecord(1) }], {
      databaseType: 'GeoLite2-ASN',
    });
    expect(refusal('country', asn)).toBe(
      'database type "GeoLite2-ASN" does not hold countries (use a Country or City database)',
    );
    const country = writeMmdb([{ network: '192.0.2.0/24', data: countryRecord('CN') }], {
      databaseType: COUNTRY,
    });
    expect(refusal('asn', country)).toMatch(/does not hold autonomous systems/);
    // Cut inside the search tree: the metadata is gone with it.
    expect(refusal('country', country.subarray(0, 40))).toMatch(/^not a MaxMind DB file/);
  });
});

describe('GeoIpDatabases', () => {
  function files() {
    const dir = mkdtempSync(join(tmpdir(), 'geo-db-'));
    const path = join(dir, 'country.mmdb');
    let n = 0;
    const write = (bytes: Buffer | string) => {
      // As an updater does: a new file renamed over the old one.
      const tmp = join(dir, `next-${n++}`);
      writeFileSync(tmp, bytes);
      renameSync(tmp, path);
    };
    return { path, write };
  }
  const cn = (epoch: number) =>
    writeMmdb([{ network: '192.0.2.0/24', data: countryRecord('CN') }], {
      databaseType: COUNTRY,
      buildEpoch: epoch,
    });
  const ru = (epoch: number) =>
    writeMmdb([{ network: '192.0.2.0/24', data: countryRecord('RU') }], {
      databaseType: COUNTRY,
      buildEpoch: epoch,
    });

  it('swaps in a changed file, keeps the last good one when the new file is bad, and reports each once', async () => {
    const { path, write } = files();
    write(cn(1));
    const events: GeoReloadEvent[] = [];
    const geo = new GeoIpDatabases({
      countryDatabase: path,
      reloadIntervalMs: 0,
      onReload: (e) => events.push(e),
    });
    expect(geo.country('192.0.2.1')).toBe('CN');
    expect(geo.asn('192.0.2.1')).toBeUndefined();

    await geo.reload();
    expect(events).toHaveLength(0);

    write(ru(2));
    await geo.reload();
    expect(geo.country('192.0.2.1')).toBe('RU');
    expect(events.map((e) => [e.result, e.info.buildEpoch])).toEqual([['applied', 2]]);

    write('garbage');
    await geo.reload();
    await geo.reload();
    expect(geo.country('192.0.2.1')).toBe('RU');
    expect(events.map((e) => e.result)).toEqual(['applied', 'error']);
    expect(events[1]!.detail).toMatch(new RegExp(`^${path}: not a MaxMind DB file`));
    expect(geo.status()[0]).toMatchObject({ applied: 2, errors: 1, info: { buildEpoch: 2 } });
    expect(geo.status()[0]!.lastError).toContain('not a MaxMind DB file');

    write(cn(3));
    await geo.reload();
    expect(geo.country('192.0.2.1')).toBe('CN');
    expect(geo.status()[0]).toMatchObject({ applied: 3, errors: 1, lastError: undefined });
    geo.close();
  });

  it('refuses to open a missing or unfit file, naming it', () => {
    expect(() => new GeoIpDatabases({ countryDatabase: '/nonexistent/country.mmdb' })).toThrow(
      '/nonexistent/country.mmdb: cannot read the country database: ENOENT',
    );
    expect(() => new GeoIpDatabases({ asnDatabase: cn(1), reloadIntervalMs: 0 })).toThrow(
      '(buffer): database type "GeoLite2-Country" does not hold autonomous systems',
    );
    expect(() => new GeoIpDatabases({})).toThrow(GeoDatabaseError);
  });
});
