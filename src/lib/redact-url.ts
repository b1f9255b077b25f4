// The one way a configured URL is shown or logged: without its userinfo. UPSTREAM_URL may carry
// `user:password@` (a Mimir behind basic auth); the admin API is readable by viewers and logs are widely
// shared, so the credentials never leave the settings object.

/** The authority's userinfo: everything from `//` to the last `@` before the path, query or fragment. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i;

/** `url` without username and password (`http://user:secret@host/p` → `http://host/p`); otherwise unchanged. */
export function redactUrl(url: URL | string): string {
  if (typeof url === 'string') return url.replace(USERINFO, '$1');
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}
