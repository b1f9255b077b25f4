// The API key a request presents: a header (X-API-Key by default) or an Authorization scheme such as
// "ApiKey <key>". Returns the key as sent; never logs it and never decides whether it is valid.

type HeaderValue = string | readonly string[] | undefined;

export interface ApiKeyOptions {
  /** Header carrying the key (default x-api-key). */
  header?: string;
  /** Also accept `Authorization: <scheme> <key>` (e.g. "ApiKey"); off by default. */
  authorizationScheme?: string;
}

/** Longest key accepted; anything longer is not a key but an attempt to bloat the counters. */
const MAX_KEY_LENGTH = 512;

export function apiKeyFrom(
  headers: Readonly<Record<string, HeaderValue>>,
  options: ApiKeyOptions = {},
): string | undefined {
  const name = (options.header ?? 'x-api-key').toLowerCase();
  const raw = headers[name];
  let key = typeof raw === 'string' ? raw : raw?.[0];
  if ((key === undefined || key === '') && options.authorizationScheme !== undefined) {
    const auth = headers['authorization'];
    const value = typeof auth === 'string' ? auth : auth?.[0];
    const prefix = `${options.authorizationScheme.toLowerCase()} `;
    if (value !== undefined && value.toLowerCase().startsWith(prefix)) key = value.slice(prefix.length);
  }
  key = key?.trim();
  if (key === undefined || key === '' || key.length > MAX_KEY_LENGTH) return undefined;
  return key;
}
