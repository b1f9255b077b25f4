// One MaxMind DB file (GeoIP2/GeoLite2 Country, City or ASN, or a compatible one) opened with mmdb-lib and
// checked before it is used: the format version, that the search tree fits in the file, that the database
// type is one that answers the question asked of it, and a probe lookup. A lookup reads only the field it
// needs; decoded records are cached by their place in the data section, so a hot record is decoded once.

import { isIP } from 'node:net';
import { Reader } from 'mmdb-lib';
import type { Response } from 'mmdb-lib';

export type GeoDatabaseKind = 'country' | 'asn';

/** A file that cannot serve as a database of its kind; the message says why. */
export class GeoDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeoDatabaseError';
  }
}

export interface GeoDatabaseInfo {
  /** metadata.database_type, e.g. "GeoLite2-Country". */
  readonly type: string;
  /** When the file was built (metadata.build_epoch), in Unix seconds. */
  readonly buildEpoch: number;
  readonly ipVersion: number;
  readonly nodeCount: number;
  readonly bytes: number;
}

/** Which database types answer each kind of question (MaxMind's and DB-IP's names; IPinfo's "country_asn"). */
const TYPE_FITS: Record<GeoDatabaseKind, RegExp> = {
  country: /country|city|enterprise/i,
  asn: /asn|isp|enterprise/i,
};

/** Decoded records kept per database: enough for every record of a Country database. */
const CACHE_ENTRIES = 8192;
/**
 * Answers kept per address. Clients repeat, and a repeated address then costs one Map lookup instead of a
 * tree walk (about 5x slower: bench:geo). Bounded; when full it starts over.
 */
const ADDRESS_ENTRIES = 65_536;

/** mmdb-lib's decoder cache, bounded: when full it starts over (no per-hit bookkeeping). */
class BoundedCache {
  private map = new Map<number | string, unknown>();
  get(key: number | string): unknown {
    return this.map.get(key);
  }
  set(key: number | string, value: unknown): void {
    if (this.map.size >= CACHE_ENTRIES) this.map = new Map();
    this.map.set(key, value);
  }
}

type GeoRecord = Record<string, unknown>;

function field(record: unknown, name: string): unknown {
  return typeof record === 'object' && record !== null ? (record as GeoRecord)[name] : undefined;
}

/** country.iso_code, else registered_country.iso_code (anycast and satellite ranges have only the latter). */
function countryOf(record: unknown): string | undefined {
  const country = field(record, 'country');
  if (typeof country === 'string') return country.length === 2 ? country.toUpperCase() : undefined;
  const code = field(country, 'iso_code') ?? field(field(record, 'registered_country'), 'iso_code');
  return typeof code === 'string' ? code : undefined;
}

function asnOf(record: unknown): number | undefined {
  const n = field(record, 'autonomous_system_number');
  if (typeof n === 'number') return n;
  const text = field(record, 'asn');
  if (typeof text === 'string' && /^AS\d+$/i.test(text)) return Number(text.slice(2));
  return typeof text === 'number' ? text : undefined;
}

/** The IPv4 address in "::ffff:a.b.c.d", or undefined. */
function unmapped(ip: string): string | undefined {
  const lower = ip.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : undefined;
}

export class GeoDatabase {
  readonly info: GeoDatabaseInfo;
  /** Lookups that failed inside the reader (a database damaged past the checks at load). */
  lookupErrors = 0;
  private readonly reader: Reader<Response>;
  private readonly ipv6: boolean;
  /** The answer per address; null: not in the database. */
  private answers = new Map<string, string | number | null>();

  /** Throws GeoDatabaseError naming what is wrong with `bytes` as a database of `kind`. */
  constructor(
    readonly kind: GeoDatabaseKind,
    bytes: Buffer,
  ) {
    try {
      this.reader = new Reader<Response>(bytes, { cache: new BoundedCache() });
    } catch (err) {
      throw new GeoDatabaseError(`not a MaxMind DB file: ${(err as Error).message}`);
    }
    const m = this.reader.metadata;
    if (m.binaryFormatMajorVersion !== 2)
      throw new GeoDatabaseError(`format version ${m.binaryFormatMajorVersion} is not supported (2 is)`);
    if (m.ipVersion !== 4 && m.ipVersion !== 6)
      throw new GeoDatabaseError(`ip_version ${String(m.ipVersion)} is neither 4 nor 6`);
    if (!(m.nodeCount > 0) || m.searchTreeSize + 16 > bytes.length)
      throw new GeoDatabaseError('truncated: the search tree does not fit in the file');
    const type = typeof m.databaseType === 'string' ? m.databaseType : '';
    if (!TYPE_FITS[kind].test(type))
      throw new GeoDatabaseError(
        `database type ${JSON.stringify(type)} does not hold ${kind === 'country' ? 'countries (use a Country or City database)' : 'autonomous systems (use an ASN database)'}`,
      );
    this.ipv6 = m.ipVersion === 6;
    this.info = Object.freeze({
      type,
      buildEpoch: Math.floor(m.buildEpoch.getTime() / 1000),
      ipVersion: m.ipVersion,
      nodeCount: m.nodeCount,
      bytes: bytes.length,
    });
    // A probe through the tree and into the data section: a damaged file fails here, not mid-request.
    try {
      this.reader.get('1.1.1.1');
      if (this.ipv6) this.reader.get('2001:db8::1');
    } catch (err) {
      throw new GeoDatabaseError(`damaged: a probe lookup failed: ${(err as Error).message}`);
    }
  }

  /** The record for `ip` (a valid address), or undefined. Never throws. */
  private record(ip: string): unknown {
    // The reader walks whatever bits it parses: a string that is not an address must not reach it.
    const family = isIP(ip);
    if (family === 0) return undefined;
    // An IPv4-mapped IPv6 address (a dual-stack socket's peer) is looked up as the IPv4 address it carries.
    const address = family === 6 && ip.lastIndexOf('.') > 0 ? (unmapped(ip) ?? ip) : ip;
    if (!this.ipv6 && address.includes(':')) return undefined;
    try {
      return this.reader.get(address) ?? undefined;
    } catch {
      this.lookupErrors++;
      return undefined;
    }
  }

  country(ip: string): string | undefined {
    return this.kind === 'country' ? (this.answer(ip) as string | undefined) : undefined;
  }

  asn(ip: string): number | undefined {
    return this.kind === 'asn' ? (this.answer(ip) as number | undefined) : undefined;
  }

  /** The country (country database) or ASN (ASN database) of `ip`, from the address cache when it is there. */
  private answer(ip: string): string | number | undefined {
    let found = this.answers.get(ip);
    if (found === undefined) {
      const record = this.record(ip);
      found = (this.kind === 'country' ? countryOf(record) : asnOf(record)) ?? null;
      if (this.answers.size >= ADDRESS_ENTRIES) this.answers = new Map();
      this.answers.set(ip, found);
    }
    return found ?? undefined;
  }
}
