// IP addresses and CIDR ranges as 32-bit words, parsed without allocating: the prefix trie's keys. An IPv4
// address is one word; an IPv6 address is four, most significant first; IPv4-mapped IPv6 (::ffff:a.b.c.d)
// is read as the IPv4 address it carries, so one list entry covers both spellings. Accepts what node:net's
// isIP() accepts (no leading zeros in IPv4, an IPv6 zone is ignored) and never throws: anything else is
// "not an address" (family 0).

export type IpFamily = 0 | 4 | 6;

/** The words of a parsed address or range: [w0] for IPv4, [w0, w1, w2, w3] for IPv6. */
export type IpWords = Uint32Array;

const groups = new Int32Array(8);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function isZoneChar(c: number): boolean {
  return (
    hexValue(c) >= 0 || (c >= 103 && c <= 122) || (c >= 71 && c <= 90) || c === 45 || c === 46 || c === 58
  );
}

/** IPv4 dotted quad text[start, end) as an unsigned number, or -1. */
function parseV4(text: string, start: number, end: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255 || parts === 4) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // "01" is refused, as isIP() refuses it: some parsers read it as octal.
      if (digits === 1 && part === 0) return -1;
      if (++digits > 3) return -1;
      part = part * 10 + (c - 48);
    } else return -1;
  }
  return parts === 4 ? value : -1;
}

/** IPv6 text[0, end) into `groups`; false when it is not an IPv6 address. */
function parseV6Groups(text: string, end: number): boolean {
  let count = 0;
  let gap = -1;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    const start = i;
    let value = 0;
    let h: number;
    while (i < end && i - start < 5 && (h = hexValue(text.charCodeAt(i))) >= 0) {
      value = value * 16 + h;
      i++;
    }
    if (i < end && text.charCodeAt(i) === 46) {
      // A dotted IPv4 tail takes the last two groups.
      if (count > 6) return false;
      const v4 = parseV4(text, start, end);
      if (v4 < 0) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      break;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4 || count === 8) return false;
    groups[count++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === end) return false;
  }
  if (gap < 0) return count === 8;
  if (count > 7) return false;
  // Move the groups after "::" to the end and fill the gap with zeros.
  const after = count - gap;
  for (let k = 1; k <= after; k++) groups[8 - k] = groups[count - k]!;
  for (let k = gap; k < 8 - after; k++) groups[k] = 0;
  return true;
}

/**
 * Parses `text` into `out` (at least 4 words). Returns 4 with the address in out[0], 6 with it in
 * out[0..3], or 0 when `text` is not an address (out is then unspecified). IPv4-mapped IPv6 returns 4.
 */
export function parseIpInto(text: string, out: IpWords): IpFamily {
  const length = text.length;
  if (length === 0 || length > 64) return 0;
  let v6 = false;
  let end = length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 58) v6 = true;
    else if (c === 37) {
      // A zone (fe80::1%eth0) names the interface, not the address: isIP() allows 0-9 a-z A-Z - . : in it.
      if (!v6 || i === length - 1) return 0;
      for (let z = i + 1; z < length; z++) if (!isZoneChar(text.charCodeAt(z))) return 0;
      end = i;
      break;
    }
  }
  if (!v6) {
    const v4 = parseV4(text, 0, length);
    if (v4 < 0) return 0;
    out[0] = v4;
    return 4;
  }
  if (!parseV6Groups(text, end)) return 0;
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    out[0] = ((groups[6]! << 16) | groups[7]!) >>> 0;
    return 4;
  }
  for (let w = 0; w < 4; w++) out[w] = ((groups[2 * w]! << 16) | groups[2 * w + 1]!) >>> 0;
  return 6;
}

/** A parsed range: its family, its network words (host bits cleared) and its prefix length. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly words: IpWords;
  readonly bits: number;
}

/** Clears every bit of `words` past the first `bits`. */
export function maskWords(words: IpWords, wordCount: number, bits: number): void {
  for (let w = 0; w < wordCount; w++) {
    const keep = bits - w * 32;
    if (keep >= 32) continue;
    words[w] = keep <= 0 ? 0 : (words[w]! & ~(0xffffffff >>> keep)) >>> 0;
  }
}

/**
 * An address ("192.0.2.1") or range ("2001:db8::/32") as a Cidr, or the reason it is not one. Host bits
 * set past the prefix are cleared (192.0.2.7/24 is 192.0.2.0/24). An IPv4-mapped IPv6 range with a
 * prefix of 96 or more is the IPv4 range it maps.
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const words = new Uint32Array(4);
  const family = parseIpInto(address, words);
  if (family === 0) return `${JSON.stringify(address)} is not an IPv4 or IPv6 address`;
  const mapped = family === 4 && address.includes(':');
  const max = family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const prefix = text.slice(slash + 1);
    const fullMax = mapped ? 128 : max;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > fullMax)
      return `prefix /${prefix} must be a whole number from 0 to ${fullMax}`;
    bits = Number(prefix);
    if (mapped) {
      if (bits < 96)
        return `${JSON.stringify(text)} is wider than the IPv4-mapped range; write it as IPv4 or as plain IPv6`;
      bits -= 96;
    }
  }
  maskWords(words, family === 4 ? 1 : 4, bits);
  return { family, words: family === 4 ? words.subarray(0, 1) : words, bits };
}

/** The canonical text of a range: "192.0.2.0/24", "2001:db8::/32"; a single address has no prefix. */
export function formatCidr(cidr: Cidr): string {
  if (cidr.family === 4) {
    const w = cidr.words[0]!;
    const address = `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
    return cidr.bits === 32 ? address : `${address}/${cidr.bits}`;
  }
  const g: number[] = [];
  for (let w = 0; w < 4; w++) g.push(cidr.words[w]! >>> 16, cidr.words[w]! & 0xffff);
  // RFC 5952: the longest run of two or more zero groups (the first of equals) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  const text = best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
  return cidr.bits === 128 ? text : `${text}/${cidr.bits}`;
}
