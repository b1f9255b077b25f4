// Key templates for custom-scope policies, e.g. "{tenant}:{header.x-client-id}:{descriptor.plan}".
// Compiled once into parts; a request missing any referenced value gets no key (the policy skips it).

import type { RequestContext } from './request-context.js';

const FIELDS = ['ip', 'user', 'api_key', 'tenant', 'tier', 'method', 'path', 'country', 'asn'] as const;
type Field = (typeof FIELDS)[number];

type Part = { text: string } | { field: Field } | { header: string } | { descriptor: string };

export type KeyTemplate = (ctx: RequestContext) => string | undefined;

/** Why `template` is not valid, or undefined. */
export function keyTemplateProblem(template: string): string | undefined {
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    const name = m[1]!;
    if ((FIELDS as readonly string[]).includes(name)) continue;
    if (/^header\.[A-Za-z0-9-]+$/.test(name) || /^descriptor\.[A-Za-z0-9_.-]+$/.test(name)) continue;
    return `unknown placeholder {${name}}; use ${FIELDS.map((f) => `{${f}}`).join(', ')}, {header.<name>} or {descriptor.<key>}`;
  }
  if (/[{}]/.test(template.replace(/\{[^}]*\}/g, ''))) return 'unbalanced "{" or "}"';
  return undefined;
}

export function compileKeyTemplate(template: string): KeyTemplate {
  const parts: Part[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    if (m.index > last) parts.push({ text: template.slice(last, m.index) });
    const name = m[1]!;
    if (name.startsWith('header.')) parts.push({ header: name.slice(7).toLowerCase() });
    else if (name.startsWith('descriptor.')) parts.push({ descriptor: name.slice(11) });
    else parts.push({ field: name as Field });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return (ctx) => {
    let key = '';
    for (const p of parts) {
      let value: string | undefined;
      if ('text' in p) value = p.text;
      else if ('field' in p) value = fieldOf(ctx, p.field);
      else if ('header' in p) value = headerValue(ctx, p.header);
      else value = ctx.descriptors?.[p.descriptor];
      if (value === undefined || value === '') return undefined;
      key += value;
    }
    return key;
  };
}

function fieldOf(ctx: RequestContext, field: Field): string | undefined {
  switch (field) {
    case 'ip':
      return ctx.ipKey ?? ctx.ip;
    case 'user':
      return ctx.user;
    case 'api_key':
      return ctx.apiKey;
    case 'tenant':
      return ctx.tenant;
    case 'tier':
      return ctx.tier;
    case 'method':
      return ctx.method;
    case 'path':
      return ctx.path;
    case 'country':
      return ctx.country;
    case 'asn':
      return ctx.asn === undefined ? undefined : `AS${ctx.asn}`;
  }
}

/** A header's value from a context (first value when repeated), by lower-case name. */
export function headerValue(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.headers?.[name];
  return typeof v === 'string' ? v : v?.[0];
}
