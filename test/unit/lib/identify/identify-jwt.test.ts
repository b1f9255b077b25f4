// Users from JWTs verified with a shared secret, an inline JWKS, or a JWKS served over HTTP: a valid
// token names the user (and tier); an absent, forged or expired one names nobody, so limits fall back to IP.

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtIdentity } from '../../../../src/index.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const secret = new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!');

function hsToken(claims: Record<string, unknown>, expSeconds = NOW / 1000 + 600): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(NOW / 1000)
    .setExpirationTime(expSeconds)
    .sign(secret);
}

describe('JWT identity with a shared secret', () => {
  const jwt = new JwtIdentity({ secret, userClaim: 'company_id', tierClaim: 'plan' });

  it('names the user and tier of a valid token', async () => {
    const token = await hsToken({ company_id: 'acme-corp', plan: 'pro' });
    expect(await jwt.identify(`Bearer ${token}`, NOW)).toEqual({
      user: 'acme-corp',
      tier: 'pro',
      problem: undefined,
    });
  });

  it('names nobody for a missing, forged or expired token', async () => {
    expect((await jwt.identify(undefined, NOW)).user).toBeUndefined();
    const forged = await new SignJWT({ company_id: 'evil' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('some-other-secret-that-is-long-enough'));
    const f = await jwt.identify(`Bearer ${forged}`, NOW);
    expect(f.user).toBeUndefined();
    expect(f.problem).toMatch(/signature/i);
    const expired = await hsToken({ company_id: 'acme-corp' }, NOW / 1000 - 10);
    expect((await jwt.identify(`Bearer ${expired}`, NOW)).problem).toMatch(/exp/i);
  });

  it('names nobody for a token without exp, unless allowMissingExp says such tokens are accepted', async () => {
    // A token that never expires would name its user forever once leaked.
    const forever = await new SignJWT({ company_id: 'acme-corp' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(NOW / 1000)
      .sign(secret);
    const refused = await jwt.identify(`Bearer ${forever}`, NOW);
    expect(refused.user).toBeUndefined();
    expect(refused.problem).toMatch(/"exp" claim/);
    const lenient = new JwtIdentity({ secret, userClaim: 'company_id', allowMissingExp: true });
    expect((await lenient.identify(`Bearer ${forever}`, NOW)).user).toBe('acme-corp');
  });

  it('stops trusting a cached token once it expires', async () => {
    const token = await hsToken({ company_id: 'acme-corp' }, NOW / 1000 + 5);
    expect((await jwt.identify(`Bearer ${token}`, NOW)).user).toBe('acme-corp');
    expect((await jwt.identify(`Bearer ${token}`, NOW + 10_000)).user).toBeUndefined();
  });
});

describe('JWT identity with a JWKS', () => {
  let server: Server;
  let url: string;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  let publicJwk: JWK;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const esToken = (claims: Record<string, unknown>): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('https://issuer.example')
      .setExpirationTime('10m')
      .sign(privateKey);

  it('verifies against a JWKS fetched over HTTP, checking the issuer', async () => {
    const jwt = new JwtIdentity({ jwksUrl: url, issuer: 'https://issuer.example' });
    const token = await esToken({ sub: 'user-42' });
    expect((await jwt.identify(`Bearer ${token}`)).user).toBe('user-42');
    const strict = new JwtIdentity({ jwksUrl: url, issuer: 'https://someone-else.example' });
    expect((await strict.identify(`Bearer ${token}`)).user).toBeUndefined();
  });

  it('verifies against an inline JWKS', async () => {
    const jwt = new JwtIdentity({ jwks: { keys: [publicJwk] } });
    expect((await jwt.identify(`bearer ${await esToken({ sub: 'u' })}`)).user).toBe('u');
  });

  it('refuses to be built without a key', () => {
    expect(() => new JwtIdentity({})).toThrow(/jwksUrl, jwks or secret/);
  });
});
