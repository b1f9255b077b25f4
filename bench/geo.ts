// Country lookups on the hot path: how many per second one core makes, and what a country rule adds to a
// policy decision. The database is written here (test/helpers/mmdb-writer.ts) with the shape of a country
// database: 100,000 IPv4 /24 networks and 20,000 IPv6 /48 networks over 250 countries, in an IPv6 tree.
// Cases, each timed in rounds (median printed, then one JSON line):
//   reader     mmdb-lib's Reader.get() without a cache, then country.iso_code (what a plain reader costs)
//   lookup     GeoDatabase.country() over 1,000,000 distinct addresses: the address cache (65,536) misses,
//              so this is the tree walk, the cached record and iso_code
//   lookup-hot the same over 10,000 distinct addresses: served from the address cache
//   decide     PolicyEngine.evaluate() with a country block list and a per-IP country policy (1M addresses)
//   decide-hot the same over the 10,000 addresses of lookup-hot
//   baseline   the same decision for a set with one per-IP policy and no geography (1M addresses)
// Addresses: 1,000,000 drawn at random from the networks (90 %) and outside them (10 %), visited in order.
// Usage: npm run bench:geo [-- --quick]

import { cpus, totalmem } from 'node:os';
import { Reader } from 'mmdb-lib';
import type { CountryResponse } from 'mmdb-lib';
import { GeoDatabase } from '../src/lib/geo/geo-database.js';
import { loadPolicySet, PolicyEngine } from '../src/index.js';
import type { RequestContext } from '../src/index.js';
import { countryRecord, writeMmdb } from '../test/helpers/mmdb-writer.js';
import type { MmdbNetwork } from '../test/helpers/mmdb-writer.js';
import { median, round } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const ROUND_MS = quick ? 300 : 700;
const ADDRESSES = 1_000_000;
/** Distinct addresses of the -hot case: clients that come back, as most do. */
const HOT = 10_000;

// A deterministic generator, so every run measures the same database and addresses.
let seed = 0x2545f491;
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}

const codes = [...(await import('../src/lib/geo/geo-codes.js')).COUNTRY_CODES];
const networks: MmdbNetwork[] = [];
const v4: number[] = [];
for (let i = 0; i < 100_000; i++) {
  const base = (Math.floor(random() * 0xffffff) << 8) >>> 0;
  v4.push(base);
  const dotted = [base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, 0].join('.');
  networks.push({ network: `${dotted}/24`, data: countryRecord(codes[i % codes.length]!) });
}
const v6: string[] = [];
for (let i = 0; i < 20_000; i++) {
  const prefix = `2001:${Math.floor(random() * 0xffff).toString(16)}:${Math.floor(random() * 0xffff).toString(16)}`;
  v6.push(prefix);
  networks.push({ network: `${prefix}::/48`, data: countryRecord(codes[(i * 7) % codes.length]!) });
}
const started = performance.now();
const bytes = writeMmdb(networks, { databaseType: 'GeoLite2-Country' });
const builtMs = performance.now() - started;

const addresses: string[] = [];
for (let i = 0; i < ADDRESSES; i++) {
  const r = random();
  if (r < 0.75) {
    const base = v4[Math.floor(random() * v4.length)]! + Math.floor(random() * 256);
    addresses.push([base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join('.'));
  } else if (r < 0.9) {
    addresses.push(`${v6[Math.floor(random() * v6.length)]!}::${Math.floor(random() * 0xffff).toString(16)}`);
  } else {
    const n = Math.floor(random() * 0xffffffff);
    addresses.push([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
  }
}

const reader = new Reader<CountryResponse>(bytes);
const db = new GeoDatabase('country', bytes);
const T0 = Date.parse('2025-06-01T12:00:00Z');
const huge = 'limit: { algorithm: fixed_window, limit: 1000000000000, window: 1h }';
const geoEngine = new PolicyEngine(
  loadPolicySet(`
block: { countries: [KP, IR] }
policies:
  - name: cn-ru-per-ip
    match: { scope: ip, countries: [CN, RU] }
    ${huge}
  - name: per-ip
    match: { scope: ip }
    ${huge}
`),
);
geoEngine.useGeo(db);
const plainEngine = new PolicyEngine(
  loadPolicySet(`
policies:
  - name: per-ip
    match: { scope: ip }
    ${huge}
`),
);

interface Case {
  name: string;
  run(from: number, n: number): number;
}

const cases: Case[] = [
  {
    name: 'reader',
    run(from, n) {
      let found = 0;
      for (let i = 0; i < n; i++) {
        const r = reader.get(addresses[(from + i) % ADDRESSES]!);
        if (r?.country?.iso_code !== undefined) found++;
      }
      return found;
    },
  },
  {
    name: 'lookup',
    run(from, n) {
      let found = 0;
      for (let i = 0; i < n; i++) if (db.country(addresses[(from + i) % ADDRESSES]!) !== undefined) found++;
      return found;
    },
  },
  {
    name: 'lookup-hot',
    run(from, n) {
      let found = 0;
      for (let i = 0; i < n; i++) if (db.country(addresses[(from + i) % HOT]!) !== undefined) found++;
      return found;
    },
  },
  {
    name: 'decide',
    run(from, n) {
      let allowed = 0;
      for (let i = 0; i < n; i++) {
        const ctx: RequestContext = { ip: addresses[(from + i) % ADDRESSES]! };
        if (geoEngine.evaluate(ctx, T0).allowed) allowed++;
      }
      return allowed;
    },
  },
  {
    name: 'decide-hot',
    run(from, n) {
      let allowed = 0;
      for (let i = 0; i < n; i++) {
        const ctx: RequestContext = { ip: addresses[(from + i) % HOT]! };
        if (geoEngine.evaluate(ctx, T0).allowed) allowed++;
      }
      return allowed;
    },
  },
  {
    name: 'baseline',
    run(from, n) {
      let allowed = 0;
      for (let i = 0; i < n; i++) {
        const ctx: RequestContext = { ip: addresses[(from + i) % ADDRESSES]! };
        if (plainEngine.evaluate(ctx, T0).allowed) allowed++;
      }
      return allowed;
    },
  },
];

/** Operations per second over one round of ROUND_MS, in batches of 10,000. */
function timeRound(c: Case, offset: number): number {
  let done = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ROUND_MS) {
    c.run(offset + done, 10_000);
    done += 10_000;
    now = performance.now();
  }
  return (done / (now - start)) * 1000;
}

console.log(
  `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${round(totalmem() / 2 ** 30, 1)} GiB; ` +
    `database ${networks.length} networks, ${round(bytes.length / 2 ** 20, 1)} MiB, ${db.info.nodeCount} nodes, written in ${round(builtMs, 0)} ms`,
);
for (const c of cases) timeRound(c, 0); // warm-up
const results: Record<string, number[]> = {};
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? cases : [...cases].reverse();
  for (const c of order) (results[c.name] ??= []).push(timeRound(c, r * 123_457));
  console.log(
    `round ${r + 1}: ${order.map((c) => `${c.name} ${round(results[c.name]!.at(-1)! / 1e6, 2)} M/s`).join(', ')}`,
  );
}
const medians = Object.fromEntries(cases.map((c) => [c.name, Math.round(median(results[c.name]!))]));
console.log('\nmedian per second:');
for (const c of cases) console.log(`  ${c.name.padEnd(11)} ${medians[c.name]!.toLocaleString('en')}`);
const perDecide = 1e9 / medians['decide']! - 1e9 / medians['baseline']!;
console.log(`  country rules add ${round(perDecide, 0)} ns to a decision for an address seen the first time`);
console.log(JSON.stringify({ bench: 'geo', medians, geoNsPerNewAddress: round(perDecide, 0) }));
