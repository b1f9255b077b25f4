// Finds the tenant of a request (tenant header, else optionally the basic-auth user) and checks it with
// Mimir's rules, so the edge never admits a tenant id Mimir would refuse.

/** Mimir's limit on tenant id length (bytes; the allowed characters are all one byte). */
export const MAX_TENANT_ID_LENGTH = 150;

// Mimir's safe set: alphanumerics and ! - _ . * ' ( )
const SAFE = new Uint8Array(128);
for (const c of "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!-_.*'()")
  SAFE[c.charCodeAt(0)] = 1;

/** Returns why `id` is not a valid Mimir tenant id, or undefined when it is. */
export function tenantIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'it is empty';
  if (id.length > MAX_TENANT_ID_LENGTH)
    return `it is ${id.length} characters long, more than ${MAX_TENANT_ID_LENGTH}`;
  if (id === '.' || id === '..') return `"${id}" is reserved`;
  if (id === '__mimir_cluster') return `"${id}" is reserved`;
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code >= 128 || SAFE[code] !== 1) {
      return `character ${JSON.stringify(id[i])} at position ${i} is not allowed (allowed: A-Z a-z 0-9 ! - _ . * ' ( ))`;
    }
  }
  return undefined;
}

/** The username of an HTTP Basic `Authorization` header, or undefined. */
export function basicAuthUser(authorization: string | undefined): string | undefined {
  if (!authorization || authorization.length < 7) return undefined;
  if (authorization.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  return user.length > 0 ? user : undefined;
}
