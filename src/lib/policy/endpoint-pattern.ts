// Path patterns for policies: "/api/v1/users" exactly, "*" for one segment, "**" for any number of
// segments (at the end or in the middle). Compiled once to a RegExp; never evaluated from user input.

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The RegExp a pattern compiles to (anchored; a trailing slash on the request is ignored). */
export function compilePathPattern(pattern: string): RegExp {
  const segments = pattern.split('/').slice(1);
  let source = '^';
  for (const [i, seg] of segments.entries()) {
    if (seg === '**') {
      source += i === segments.length - 1 ? '(?:/.*)?' : '(?:/[^/]+)*';
    } else {
      source += '/' + seg.split('*').map(escapeRegExp).join('[^/]*');
    }
  }
  return new RegExp(source + '/?$');
}
