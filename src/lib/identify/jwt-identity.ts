// The user (e.g. document 001's company id) and tier named by a verified JWT bearer token, checked with
// a JWKS (remote or inline) or a shared secret via jose. An absent or invalid token yields no user, so the
// caller falls back to the client IP; this never throws for a bad token and never trusts an unverified one.

import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';

export interface JwtIdentityOptions {
  /** URL of the issuer's JWKS (fetched and cached by jose, refreshed on an unknown key id). */
  jwksUrl?: string | URL;
  /** An inline JWKS. */
  jwks?: JSONWebKeySet;
  /** Shared secret for HS256/384/512 tokens. */
  secret?: string | Uint8Array;
  issuer?: string | string[];
  audience?: string | string[];
  /** Accepted algorithms (default: jose's choice for the key type). */
  algorithms?: string[];
  /** Claim naming the user (default "sub"; e.g. "company_id"). */
  userClaim?: string;
  /** Claim naming the tier (e.g. "plan"); none by default. */
  tierClaim?: string;
  /** Verified tokens remembered until they expire, so a busy client is verified once (default 10,000). */
  cacheSize?: number;
  /**
   * Accept tokens without an `exp` claim (default false: refused). A token that never expires names its user
   * forever once leaked, so it is only for issuers that cannot set one.
   */
  allowMissingExp?: boolean;
}

export interface JwtUser {
  user: string | undefined;
  tier: string | undefined;
  /** Why there is no user: 'absent' (no bearer token), or jose's reason the token was refused. */
  problem: string | undefined;
}

const NO_TOKEN: JwtUser = { user: undefined, tier: undefined, problem: 'absent' };

function claimString(payload: JWTPayload, claim: string | undefined): string | undefined {
  if (claim === undefined) return undefined;
  const v = payload[claim];
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

export class JwtIdentity {
  private readonly key: JWTVerifyGetKey | Uint8Array;
  private readonly cache = new Map<string, { result: JwtUser; expiresAtMs: number }>();
  private readonly cacheSize: number;

  /** Throws a RangeError when no key source (jwksUrl, jwks or secret) is given. */
  constructor(private readonly options: JwtIdentityOptions) {
    if (options.jwksUrl !== undefined) this.key = createRemoteJWKSet(new URL(options.jwksUrl));
    else if (options.jwks !== undefined) this.key = createLocalJWKSet(options.jwks);
    else if (options.secret !== undefined)
      this.key =
        typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
    else throw new RangeError('JwtIdentity needs jwksUrl, jwks or secret');
    this.cacheSize = options.cacheSize ?? 10_000;
  }

  /** The user of an `Authorization: Bearer <jwt>` header value; `nowMs` bounds the cache's trust. */
  async identify(authorization: string | undefined, nowMs = Date.now()): Promise<JwtUser> {
    if (authorization === undefined || !/^bearer /i.test(authorization)) return NO_TOKEN;
    const token = authorization.slice(7).trim();
    const cached = this.cache.get(token);
    if (cached !== undefined && cached.expiresAtMs > nowMs) return cached.result;
    try {
      const { payload } = await this.verify(token, nowMs);
      const user = claimString(payload, this.options.userClaim ?? 'sub');
      const result: JwtUser = {
        user,
        tier: claimString(payload, this.options.tierClaim),
        problem:
          user === undefined ? `the token has no "${this.options.userClaim ?? 'sub'}" claim` : undefined,
      };
      if (this.cache.size >= this.cacheSize) this.cache.clear();
      this.cache.set(token, {
        result,
        expiresAtMs: payload.exp !== undefined ? payload.exp * 1000 : nowMs + 60_000,
      });
      return result;
    } catch (err) {
      return { user: undefined, tier: undefined, problem: (err as Error).message };
    }
  }

  private verify(token: string, nowMs: number): ReturnType<typeof jwtVerify> {
    const opts = {
      issuer: this.options.issuer,
      audience: this.options.audience,
      algorithms: this.options.algorithms,
      currentDate: new Date(nowMs),
      // jose checks `exp` only when present; requiring it refuses a token that would never expire.
      requiredClaims: this.options.allowMissingExp === true ? [] : ['exp'],
    };
    return this.key instanceof Uint8Array
      ? jwtVerify(token, this.key, opts)
      : jwtVerify(token, this.key, opts);
  }
}
