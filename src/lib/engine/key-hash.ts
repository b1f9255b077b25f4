// A 64-bit fingerprint of a key string, as two independent 32-bit halves, so the compact store can keep
// millions of keys without keeping their strings. Must never allocate: it runs once per check.

/** Low half of the last fingerprint computed by `hashKey` (also its return value). */
export let keyHashA = 0;
/** High half of the last fingerprint computed by `hashKey`. */
export let keyHashB = 0;

/** murmur3's finaliser: spreads every input bit over the whole word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Fingerprints `key` (its UTF-16 code units) into keyHashA/keyHashB and returns keyHashA.
 * The two halves use different seeds and multipliers, so two keys share a store slot only when both
 * 32-bit halves collide: about n²/2⁶⁵ for n keys (3·10⁻⁸ at a million keys).
 */
export function hashKey(key: string): number {
  const n = key.length;
  let a = 0x811c9dc5 ^ n;
  let b = 0x9747b28c ^ Math.imul(n, 0x27d4eb2d);
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(((b << 5) | (b >>> 27)) ^ c, 0x5bd1e995);
  }
  keyHashA = fmix32(a);
  keyHashB = fmix32(b ^ 0x68e31da4);
  return keyHashA;
}
