// Whether an IP list entry (a CIDR range) covers an address or range the operator typed, for the Lists
// page's filter. Reads addresses as the edge does (src/lib/lists/ip-address.ts): IPv4, IPv6 with "::" and
// a dotted IPv4 tail, IPv4-mapped IPv6 as IPv4, a range's host bits ignored. No DOM use, so the unit tests
// load it under Node.

export interface IpRange {
  /** 32 for IPv4, 128 for IPv6. */
  width: 32 | 128;
  bits: bigint;
  prefix: number;
}

function parseV4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return null;
    const n = Number(p);
    if (n > 255) return null;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function groupsOf(text: string): number[] | null {
  if (text === '') return [];
  const out: number[] = [];
  const parts = text.split(':');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (i === parts.length - 1 && p.includes('.')) {
      const v4 = parseV4(p);
      if (v4 === null) return null;
      out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (/^[0-9a-f]{1,4}$/i.test(p)) out.push(parseInt(p, 16));
    else return null;
  }
  return out;
}

function parseV6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let value = 0n;
  for (const g of [...head, ...Array<number>(missing).fill(0), ...tail]) value = (value << 16n) | BigInt(g);
  return value;
}

const MAPPED = 0xffffn << 32n;

/** An address ("192.0.2.9", "2001:db8::1") or range ("10.0.0.0/8"), or null when it is neither. */
export function parseIpRange(text: string): IpRange | null {
  const value = text.trim();
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const prefixText = slash === -1 ? null : value.slice(slash + 1);
  if (prefixText !== null && !/^\d{1,3}$/.test(prefixText)) return null;
  const v4 = parseV4(address);
  let range: IpRange;
  if (v4 !== null) range = { width: 32, bits: v4, prefix: prefixText === null ? 32 : Number(prefixText) };
  else {
    if (!address.includes(':')) return null;
    const v6 = parseV6(address);
    if (v6 === null) return null;
    range = { width: 128, bits: v6, prefix: prefixText === null ? 128 : Number(prefixText) };
  }
  if (range.prefix > range.width) return null;
  // IPv4-mapped IPv6 (::ffff:192.0.2.9) is IPv4, as the edge reads it.
  if (range.width === 128 && range.bits >> 32n === MAPPED >> 32n && range.prefix >= 96)
    range = { width: 32, bits: range.bits & 0xffffffffn, prefix: range.prefix - 96 };
  return { ...range, bits: network(range.bits, range.width, range.prefix) };
}

function network(bits: bigint, width: number, prefix: number): bigint {
  const host = BigInt(width - prefix);
  return (bits >> host) << host;
}

/** True when range `outer` holds every address of `inner` (an address is a range of one). */
export function covers(outer: IpRange, inner: IpRange): boolean {
  if (outer.width !== inner.width || outer.prefix > inner.prefix) return false;
  return network(inner.bits, inner.width, outer.prefix) === outer.bits;
}
