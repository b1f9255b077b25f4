// The one canonical form of an HTTP request target, and which targets are remote writes. Every entry point
// (the proxy, ext_authz Check, the authz endpoint, and the policy gate behind them) matches paths on this
// form only, so a write cannot walk around its limits by spelling its path differently (`/api/v1/%70ush`,
// `//api/v1/push`, `/api/v1/./push`, `/api/v1/push/`), and the upstream receives the form that was measured.
//
// The rules (docs/hardening.md):
// - only origin-form targets (`/path?query`): absolute-form (`http://host/path`), asterisk-form (`*`) and
//   anything else not starting with `/` is refused (400), as is a `#` (a fragment is never part of a target);
// - percent-encoded unreserved characters (RFC 3986 §2.3: ALPHA DIGIT - . _ ~) are decoded; every other
//   escape is kept, with upper-case hex; a malformed escape (`%zz`, `%4`) is refused;
// - runs of `/` are merged into one, then `.` and `..` segments are resolved (RFC 3986 §5.2.4, never above `/`);
// - an encoded `/` or `\` (`%2F`, `%5C`) or a raw `\` is kept in ordinary paths (label values in query
//   paths contain them), but refused when decoding it would make the path a remote-write path;
// - a trailing slash does not make a different write path: `/api/v1/push/` is `/api/v1/push`, measured and
//   forwarded as `/api/v1/push`. Outside the write paths a trailing slash is kept.
// The query string is never changed. Canonicalising a canonical target gives it back unchanged (the
// property test checks that), and the common target (already canonical) allocates nothing but the result.

/** A target the edge refuses to route: answered 400 with this text, never forwarded. */
export interface RefusedTarget {
  readonly refused: string;
}

export interface ResolvedTarget {
  /** The canonical path (no query). For a write, the configured write path itself. */
  readonly path: string;
  /** What the upstream gets and what policies see: the canonical path plus the original `?query`. */
  readonly target: string;
  /** The remote-write path this target is (from REMOTE_WRITE_PATHS), or undefined. */
  readonly writePath: string | undefined;
}

export function isRefusedTarget(t: ResolvedTarget | RefusedTarget): t is RefusedTarget {
  return (t as RefusedTarget).refused !== undefined;
}

const UNRESERVED = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9\-._~]/.test(ch)) UNRESERVED[c] = 1;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

const HEX = '0123456789ABCDEF';

/** Result of the decoding pass: the path with unreserved escapes decoded, or a refusal reason. */
interface Decoded {
  text: string;
  /** An encoded `/` or `\`, or a raw `\`, was seen. */
  separator: boolean;
}

/**
 * Decodes the unreserved escapes of `path` and upper-cases the others. With `separators`, `%2F`, `%5C` and
 * `\` become `/` too (the "loose" reading a lenient upstream might apply). Returns undefined for a
 * malformed escape.
 */
function decodePath(path: string, separators: boolean): Decoded | undefined {
  if (path.indexOf('%') === -1 && path.indexOf('\\') === -1) return { text: path, separator: false };
  let out = '';
  let from = 0;
  let separator = false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x5c /* \ */) {
      separator = true;
      if (separators) {
        out += path.slice(from, i) + '/';
        from = i + 1;
      }
      continue;
    }
    if (c !== 0x25 /* % */) continue;
    const hi = i + 2 < path.length ? hexValue(path.charCodeAt(i + 1)) : -1;
    const lo = hi === -1 ? -1 : hexValue(path.charCodeAt(i + 2));
    if (lo === -1) return undefined;
    const byte = hi * 16 + lo;
    let replacement: string;
    if (byte < 128 && UNRESERVED[byte] === 1) {
      replacement = String.fromCharCode(byte);
    } else if (byte === 0x2f || byte === 0x5c) {
      separator = true;
      replacement = separators ? '/' : '%' + HEX[hi]! + HEX[lo]!;
    } else {
      replacement = '%' + HEX[hi]! + HEX[lo]!;
    }
    out += path.slice(from, i) + replacement;
    from = i + 3;
    i += 2;
  }
  return { text: from === 0 ? path : out + path.slice(from), separator };
}

/** Merges runs of `/` and resolves `.`/`..` segments of an absolute path; the result starts with `/`. */
function normalizeSegments(path: string): string {
  // Fast path (native scans): nothing to merge or resolve. A `/.` that starts a name (`/.well-known`) takes
  // the slow path, which gives it back unchanged.
  if (path.indexOf('//') === -1 && path.indexOf('/.') === -1) return path;
  const parts = path.split('/');
  const out: string[] = [];
  let trailing = false;
  // parts[0] is the empty string before the leading `/`.
  for (let i = 1; i < parts.length; i++) {
    const seg = parts[i]!;
    const last = i === parts.length - 1;
    if (seg === '' || seg === '.') {
      if (last) trailing = true;
      continue;
    }
    if (seg === '..') {
      out.pop();
      if (last) trailing = true;
      continue;
    }
    out.push(seg);
    trailing = false;
  }
  if (out.length === 0) return '/';
  return '/' + out.join('/') + (trailing ? '/' : '');
}

/**
 * The canonical form of a path (no query), or undefined when it cannot be one (not origin-form, a fragment,
 * a malformed escape). Exposed for the property test and for callers that only need the path.
 */
export function canonicalPath(path: string): string | undefined {
  if (path.charCodeAt(0) !== 0x2f || path.includes('#')) return undefined;
  const decoded = decodePath(path, false);
  if (decoded === undefined) return undefined;
  return normalizeSegments(decoded.text);
}

const NOT_ORIGIN_FORM =
  'the request target must be a path starting with "/" (origin form); absolute URLs, "*" and fragments are not accepted (err-mimir-edge-bad-request).';
const BAD_ESCAPE =
  'the request path has a malformed percent-encoding (a "%" not followed by two hex digits) (err-mimir-edge-bad-request).';
const ENCODED_SEPARATOR =
  'the request path names a remote-write path with an encoded "/" or "\\" (%2F, %5C) or a "\\"; send the plain path (err-mimir-edge-bad-request).';

/** Resolves request targets against one set of remote-write paths (REMOTE_WRITE_PATHS). */
export class RequestTargets {
  private readonly writes: ReadonlyMap<string, string>;

  constructor(writePaths: readonly string[]) {
    // Each write path, and the same with a trailing slash, maps to the write path itself.
    const writes = new Map<string, string>();
    for (const p of writePaths) {
      const canonical = canonicalPath(p) ?? p;
      const bare = canonical.length > 1 && canonical.endsWith('/') ? canonical.slice(0, -1) : canonical;
      writes.set(bare, bare);
      writes.set(bare + '/', bare);
    }
    this.writes = writes;
  }

  /** The remote-write path a canonical path is, if any. */
  writePathOf(path: string): string | undefined {
    return this.writes.get(path);
  }

  /** Canonicalises a request target (path and query) and says whether it is a remote write. */
  resolve(target: string): ResolvedTarget | RefusedTarget {
    if (target.charCodeAt(0) !== 0x2f) return { refused: NOT_ORIGIN_FORM };
    const q = target.indexOf('?');
    const rawPath = q === -1 ? target : target.slice(0, q);
    if (target.includes('#')) return { refused: NOT_ORIGIN_FORM };
    const decoded = decodePath(rawPath, false);
    if (decoded === undefined) return { refused: BAD_ESCAPE };
    const path = normalizeSegments(decoded.text);
    const writePath = this.writes.get(path);
    if (decoded.separator && writePath === undefined) {
      // Read the separators as `/`, as a lenient upstream might: a write path that way is a disguised write.
      const loose = decodePath(rawPath, true);
      if (loose !== undefined && this.writes.has(normalizeSegments(loose.text)))
        return { refused: ENCODED_SEPARATOR };
    }
    const outPath = writePath ?? path;
    if (outPath === rawPath) return { path: outPath, target, writePath };
    return { path: outPath, target: q === -1 ? outPath : outPath + target.slice(q), writePath };
  }
}
