// Who may use the admin API: bearer tokens with roles (viewer < operator < admin), from ADMIN_TOKEN or
// ADMIN_TOKENS_FILE, or one generated at start. Tokens are kept only as SHA-256 digests and compared in
// constant time; a token's text is never logged (except a generated one, once, so the operator can use it).

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../lib/config-error.js';

import { ROLES } from '../observe/audit/roles.js';
import type { Role } from '../observe/audit/roles.js';
import { isMapping } from '../lib/is-mapping.js';
const RANK: Readonly<Record<Role, number>> = { viewer: 1, operator: 2, admin: 3 };
/** Shorter tokens are refused: they could be guessed. */
export const MIN_TOKEN_LENGTH = 16;

export interface Principal {
  /** Who acted, as written in the audit log. */
  name: string;
  role: Role;
}

interface StoredToken extends Principal {
  digest: Buffer;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function roleAllows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

export class AccessControl {
  private readonly tokens: StoredToken[];

  constructor(tokens: readonly { name: string; token: string; role: Role }[]) {
    this.tokens = tokens.map((t) => ({ name: t.name, role: t.role, digest: digest(t.token) }));
  }

  get size(): number {
    return this.tokens.length;
  }

  /** The principal for an `Authorization: Bearer <token>` header, or undefined. Compares every token. */
  authenticate(authorization: string | undefined): Principal | undefined {
    if (authorization === undefined) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return undefined;
    const presented = digest(match[1]!);
    let found: StoredToken | undefined;
    for (const t of this.tokens) {
      // No early exit: the time taken does not depend on which token matched.
      if (timingSafeEqual(presented, t.digest) && found === undefined) found = t;
    }
    return found ? { name: found.name, role: found.role } : undefined;
  }
}

/** Reads ADMIN_TOKENS_FILE: a YAML list of {name, token, role}. Errors name the entry and field. */
export function parseTokensFile(text: string, source: string): { name: string; token: string; role: Role }[] {
  let root: unknown;
  try {
    root = parseYaml(text);
  } catch (err) {
    throw new ConfigError(source, '', `invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(root) || root.length === 0)
    throw new ConfigError(source, '', 'must be a non-empty YAML list of {name, token, role}');
  const names = new Set<string>();
  return root.map((entry: unknown, i) => {
    const at = `[${i}]`;
    if (!isMapping(entry)) throw new ConfigError(source, at, 'must be a mapping {name, token, role}');
    const { name, token, role } = entry;
    if (typeof name !== 'string' || name.trim() === '')
      throw new ConfigError(source, `${at}.name`, 'must be a non-empty string');
    if (names.has(name))
      throw new ConfigError(source, `${at}.name`, `duplicate name ${JSON.stringify(name)}`);
    names.add(name);
    if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH)
      throw new ConfigError(
        source,
        `${at}.token`,
        `must be a string of at least ${MIN_TOKEN_LENGTH} characters`,
      );
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role))
      throw new ConfigError(
        source,
        `${at}.role`,
        `must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}`,
      );
    return { name, token, role: role as Role };
  });
}

/**
 * Builds the access control from the settings. Returns the generated token when none was configured,
 * so the caller can print it once.
 */
export function accessFromSettings(admin: { token: string; tokensFile: string }): {
  access: AccessControl;
  generatedToken?: string;
} {
  const tokens: { name: string; token: string; role: Role }[] = [];
  if (admin.token !== '') {
    if (admin.token.length < MIN_TOKEN_LENGTH)
      throw new ConfigError('settings', 'ADMIN_TOKEN', `must be at least ${MIN_TOKEN_LENGTH} characters`);
    tokens.push({ name: 'admin', token: admin.token, role: 'admin' });
  }
  if (admin.tokensFile !== '') {
    let text: string;
    try {
      text = readFileSync(admin.tokensFile, 'utf8');
    } catch (err) {
      throw new ConfigError(admin.tokensFile, '', `cannot read: ${(err as Error).message}`);
    }
    tokens.push(...parseTokensFile(text, admin.tokensFile));
  }
  if (tokens.length > 0) return { access: new AccessControl(tokens) };
  const generatedToken = randomBytes(24).toString('base64url');
  return {
    access: new AccessControl([{ name: 'generated-admin', token: generatedToken, role: 'admin' }]),
    generatedToken,
  };
}
