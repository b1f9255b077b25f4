// Writes small MaxMind DB (.mmdb) files for tests, from the published "MaxMind DB File Format Specification"
// (v2.0): a binary search tree over the address bits, a 16-byte zero separator, a data section of typed
// values, then "\xAB\xCD\xEFMaxMind.com" and the metadata map. IPv6 trees hold IPv4 networks at ::/96, as the
// spec's readers expect. Nothing is downloaded: every database a test reads is built here from its networks.

import { isIP } from 'node:net';

/** A value the data section can hold: maps, arrays, UTF-8 strings, unsigned integers, doubles, booleans. */
export type MmdbValue = string | number | bigint | boolean | MmdbValue[] | { [key: string]: MmdbValue };

export interface MmdbNetwork {
  /** An address or CIDR range, IPv4 or IPv6 ("192.0.2.0/24", "2001:db8::/32"). */
  network: string;
  data: MmdbValue;
}

export interface MmdbOptions {
  databaseType: string;
  /** 4 or 6 (default 6: IPv4 networks then live under ::/96). */
  ipVersion?: 4 | 6;
  /** Bits per search tree record (default 24). */
  recordSize?: 24 | 28 | 32;
  /** Unix seconds (default 1,700,000,000). */
  buildEpoch?: number;
  description?: string;
}

/** The country record GeoIP2/GeoLite2 Country and City databases hold. */
export function countryRecord(isoCode: string, name = isoCode): MmdbValue {
  return {
    continent: { code: 'XX', names: { en: 'Somewhere' } },
    country: { iso_code: isoCode, names: { en: name, de: name } },
    registered_country: { iso_code: isoCode, names: { en: name } },
  };
}

/** The record GeoIP2/GeoLite2 ASN databases hold. */
export function asnRecord(asn: number, organization = `AS${asn} network`): MmdbValue {
  return { autonomous_system_number: asn, autonomous_system_organization: organization };
}

/** Address bits, most significant first, and the prefix length, in a tree of `ipVersion`. */
function networkBits(network: string, ipVersion: 4 | 6): { bits: number[]; prefix: number } {
  const [address, prefixText] = network.split('/') as [string, string | undefined];
  const family = isIP(address);
  if (family === 0) throw new RangeError(`${network} is not an address or CIDR range`);
  if (family === 6 && ipVersion === 4) throw new RangeError(`${network} is IPv6; the tree is IPv4`);
  const bytes = family === 4 ? address.split('.').map(Number) : ipv6Bytes(address);
  let prefix = prefixText === undefined ? bytes.length * 8 : Number(prefixText);
  const bits: number[] = [];
  if (family === 4 && ipVersion === 6) {
    for (let i = 0; i < 96; i++) bits.push(0);
    prefix += 96;
  }
  for (const byte of bytes) for (let b = 7; b >= 0; b--) bits.push((byte >> b) & 1);
  return { bits, prefix };
}

function ipv6Bytes(address: string): number[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const groups = (s: string | undefined): number[] =>
    s === undefined || s === '' ? [] : s.split(':').map((g) => parseInt(g, 16));
  const left = groups(head);
  const right = groups(tail);
  const all =
    tail === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  return all.flatMap((g) => [g >> 8, g & 255]);
}

interface TreeNode {
  children: [Child, Child];
  index: number;
}
type Child = TreeNode | { data: number } | undefined;

function isNode(c: Child): c is TreeNode {
  return c !== undefined && 'children' in c;
}

/** The data section encoding of one value (no pointers: each distinct record is written once). */
function encodeValue(value: MmdbValue, out: number[]): void {
  const control = (type: number, size: number): void => {
    const typeBits = type <= 7 ? type << 5 : 0;
    let sizeBits: number;
    const extra: number[] = [];
    if (size < 29) sizeBits = size;
    else if (size < 285) {
      sizeBits = 29;
      extra.push(size - 29);
    } else if (size < 65_821) {
      sizeBits = 30;
      const s = size - 285;
      extra.push(s >> 8, s & 255);
    } else {
      sizeBits = 31;
      const s = size - 65_821;
      extra.push((s >> 16) & 255, (s >> 8) & 255, s & 255);
    }
    out.push(typeBits | sizeBits);
    if (type > 7) out.push(type - 7);
    out.push(...extra);
  };
  const unsigned = (type: number, n: bigint): void => {
    const bytes: number[] = [];
    for (let v = n; v > 0n; v >>= 8n) bytes.unshift(Number(v & 255n));
    control(type, bytes.length);
    out.push(...bytes);
  };
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    control(2, bytes.length);
    out.push(...bytes);
  } else if (typeof value === 'boolean') {
    control(14, value ? 1 : 0);
  } else if (typeof value === 'bigint') {
    unsigned(9, value);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff) unsigned(6, BigInt(value));
    else {
      control(3, 8);
      const b = Buffer.alloc(8);
      b.writeDoubleBE(value);
      out.push(...b);
    }
  } else if (Array.isArray(value)) {
    control(11, value.length);
    for (const v of value) encodeValue(v, out);
  } else {
    const entries = Object.entries(value);
    control(7, entries.length);
    for (const [k, v] of entries) {
      encodeValue(k, out);
      encodeValue(v, out);
    }
  }
}

function writeRecord(buf: Buffer, offset: number, recordSize: number, left: number, right: number): void {
  if (recordSize === 24) {
    buf.writeUIntBE(left, offset, 3);
    buf.writeUIntBE(right, offset + 3, 3);
  } else if (recordSize === 28) {
    buf.writeUIntBE(left & 0xff_ffff, offset, 3);
    buf[offset + 3] = ((left >>> 24) << 4) | (right >>> 24);
    buf.writeUIntBE(right & 0xff_ffff, offset + 4, 3);
  } else {
    buf.writeUInt32BE(left, offset);
    buf.writeUInt32BE(right, offset + 4);
  }
}

/**
 * A database holding `networks` (later entries win where they overlap, so a more specific network listed
 * after a wider one carves it out). Addresses in no network are not in the database.
 */
export function writeMmdb(networks: readonly MmdbNetwork[], options: MmdbOptions): Buffer {
  const ipVersion = options.ipVersion ?? 6;
  const recordSize = options.recordSize ?? 24;
  // Data section: each distinct record once.
  const data: number[] = [];
  const offsets = new Map<string, number>();
  const root: TreeNode = { children: [undefined, undefined], index: 0 };
  for (const { network, data: value } of networks) {
    const key = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    let offset = offsets.get(key);
    if (offset === undefined) {
      offset = data.length;
      offsets.set(key, offset);
      encodeValue(value, data);
    }
    const { bits, prefix } = networkBits(network, ipVersion);
    if (prefix === 0) throw new RangeError('a /0 network cannot be stored in the tree');
    let node = root;
    for (let depth = 0; depth < prefix - 1; depth++) {
      const bit = bits[depth]!;
      const child = node.children[bit];
      if (isNode(child)) node = child;
      else {
        // A wider network ends here: push its data down both sides so the narrower one can split it.
        const next: TreeNode = { children: [child, child], index: 0 };
        node.children[bit] = next;
        node = next;
      }
    }
    node.children[bits[prefix - 1]!] = { data: offset };
  }
  // Number the nodes breadth first (root is 0).
  const nodes: TreeNode[] = [];
  const queue: TreeNode[] = [root];
  for (let head = 0; head < queue.length; head++) {
    const n = queue[head]!;
    n.index = nodes.length;
    nodes.push(n);
    for (const c of n.children) if (isNode(c)) queue.push(c);
  }
  const nodeCount = nodes.length;
  const nodeBytes = recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  const recordOf = (c: Child): number =>
    c === undefined ? nodeCount : isNode(c) ? c.index : nodeCount + 16 + c.data;
  nodes.forEach((n, i) =>
    writeRecord(tree, i * nodeBytes, recordSize, recordOf(n.children[0]), recordOf(n.children[1])),
  );
  const metadata: number[] = [];
  encodeValue(
    {
      node_count: nodeCount,
      record_size: recordSize,
      ip_version: ipVersion,
      database_type: options.databaseType,
      languages: ['en'],
      binary_format_major_version: 2,
      binary_format_minor_version: 0,
      build_epoch: BigInt(options.buildEpoch ?? 1_700_000_000),
      description: { en: options.description ?? `${options.databaseType} written by a test` },
    },
    metadata,
  );
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    Buffer.from(data),
    Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'),
    Buffer.from(metadata),
  ]);
}
