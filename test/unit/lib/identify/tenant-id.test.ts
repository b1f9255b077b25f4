import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { basicAuthUser, tenantIdProblem } from '../../../../src/lib/identify/tenant-id.js';
import { REASONS } from '../../../../src/decision/catalogue.js';

describe('tenant ids follow Mimir’s rules', () => {
  it('accepts exactly the safe character set, up to 150 characters', () => {
    const safe = fc.constantFrom(..."abcXYZ019!-_.*'()".split(''));
    fc.assert(
      fc.property(fc.array(safe, { minLength: 1, maxLength: 150 }), (chars) => {
        const id = chars.join('');
        fc.pre(id !== '.' && id !== '..');
        expect(tenantIdProblem(id)).toBeUndefined();
      }),
    );
  });

  it('refuses any id holding a character outside the set', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 0, maxLength: 20 }),
        fc.string({ minLength: 1, maxLength: 1 }),
        (prefix, bad) => {
          fc.pre(!/^[A-Za-z0-9!\-_.*'()]$/.test(bad));
          expect(tenantIdProblem(prefix + bad)).toBeDefined();
        },
      ),
    );
  });

  it('refuses empty, ".", "..", over-long ids', () => {
    for (const id of ['', '.', '..', 'a'.repeat(151)]) expect(tenantIdProblem(id)).toBeDefined();
  });

  it('reads the basic-auth user', () => {
    expect(basicAuthUser('Basic ' + Buffer.from('team-a:pw:with:colons').toString('base64'))).toBe('team-a');
    expect(basicAuthUser('basic ' + Buffer.from('only-user').toString('base64'))).toBe('only-user');
    expect(basicAuthUser('Bearer abc')).toBeUndefined();
    expect(basicAuthUser(undefined)).toBeUndefined();
    expect(basicAuthUser('Basic ' + Buffer.from(':pw').toString('base64'))).toBeUndefined();
  });
});

// Ported from dskit tenant/tenant_test.go TestValidTenantIDs (the rules Mimir applies): the same ids are valid
// or refused. Mimir 2.12+ answers a refused one 401 (pkg/api newTenantValidationMiddleware), and so does the edge.
describe('dskit tenant_test.go TestValidTenantIDs', () => {
  it.each([
    ['tenant-a', true],
    ["ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz_0987654321!.*'()", true],
    ['invalid|', false],
    ['a'.repeat(150), true],
    ['a'.repeat(151), false],
    ['.', false],
    ['..', false],
  ])('%j valid: %s', (id, valid) => {
    expect(tenantIdProblem(id) === undefined).toBe(valid);
  });

  it('a refused id is answered 401, as Mimir 2.12+ answers it', () => {
    expect(REASONS.invalid_tenant.status).toBe(401);
    expect(REASONS.missing_tenant.status).toBe(401);
  });
});
