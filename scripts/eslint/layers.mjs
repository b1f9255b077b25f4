// The layers of src/, lowest first, and the lint rule that keeps every import pointing down them.
// A file may import its own folder and any folder listed before it; never one listed after it. So no two
// top-level folders can import each other, and a folder cycle cannot be written. The two entry files at the
// root are the exceptions by design: src/index.ts (the library's public surface) may import only lib/, and
// src/cli.ts (the command) may import anything. docs/architecture.md draws the same list.
import { dirname, relative, resolve, sep } from 'node:path';

/** Lowest first. Each entry: the folder under src/, and what it is. */
export const LAYERS = [
  ['lib', 'the rate-limiting library: engine, algorithms, policies, identities, middleware, Redis limiters'],
  ['wire', 'protobuf wire format: the one bounds-checked reader (bodies, gRPC messages), the writer'],
  ['decision', 'a Decision, the error catalogue (reason → status, err-mimir id, message), its HTTP form'],
  ['remote-write', 'remote write 1.0/2.0 and OTLP: bounded decompression and one-pass scanners'],
  ['limits', "Mimir's limits: definitions, the overrides file, the versioned registry and its sources"],
  ['settings', 'every setting (env var, flag, config file) merged into one typed Settings'],
  ['stores', 'where the per-tenant buckets live: in process, Redis, PostgreSQL, fallback, near-global'],
  ['observe', 'logs, metrics, per-tenant traffic counters, time-series stats, the audit log'],
  ['decide', 'the write pipeline: identify, measure, Mimir rules, HA, rates, selective filter; policy gate'],
  ['proxy', 'the HTTP transport: reverse proxy, upstream pool, in-flight budget, HTTP authz endpoint, TLS'],
  ['gateway', 'the gRPC transports: ext_authz, the rate limit service, descriptor configs, health'],
  ['admin', 'the admin API and UI files'],
  ['app', 'wiring: builds every part from Settings, starts and stops the listeners'],
];

const RANK = new Map(LAYERS.map(([name], i) => [name, i]));
const ENTRY_RULES = { 'index.ts': new Set(['lib']), 'cli.ts': null };

/** The top-level folder of `file` under `srcRoot` ('' for a root file), or undefined outside src/. */
function layerOf(srcRoot, file) {
  const rel = relative(srcRoot, file);
  if (rel.startsWith('..') || rel === '') return undefined;
  const parts = rel.split(sep);
  return parts.length === 1 ? '' : parts[0];
}

export const layersPlugin = {
  rules: {
    'downward-only': {
      meta: {
        type: 'problem',
        docs: { description: 'src/ imports point down the layers in scripts/eslint/layers.mjs' },
        schema: [],
        messages: {
          upward:
            '{{from}}/ may not import {{to}}/: it is a higher layer (scripts/eslint/layers.mjs lists the order).',
          unknown:
            'src/{{to}}/ is not a layer: add it to scripts/eslint/layers.mjs and docs/architecture.md.',
          entry: 'src/{{file}} may import only {{allowed}}/.',
        },
      },
      create(context) {
        const file = context.filename;
        const srcRoot = resolve(context.cwd, 'src');
        const from = layerOf(srcRoot, file);
        if (from === undefined) return {};
        const check = (node, spec) => {
          if (typeof spec !== 'string' || !spec.startsWith('.')) return;
          const to = layerOf(srcRoot, resolve(dirname(file), spec));
          if (to === undefined || to === '' || to === from) return;
          if (!RANK.has(to)) return context.report({ node, messageId: 'unknown', data: { to } });
          if (from === '') {
            const base = relative(srcRoot, file);
            const allowed = ENTRY_RULES[base];
            if (allowed === null) return;
            if (allowed === undefined || !allowed.has(to))
              context.report({
                node,
                messageId: 'entry',
                data: { file: base, allowed: [...(allowed ?? [])].join(', ') },
              });
            return;
          }
          if (!RANK.has(from)) return context.report({ node, messageId: 'unknown', data: { to: from } });
          if (RANK.get(to) > RANK.get(from))
            context.report({ node, messageId: 'upward', data: { from, to } });
        };
        return {
          ImportDeclaration: (node) => check(node, node.source.value),
          ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
          ExportAllDeclaration: (node) => check(node, node.source.value),
          ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
        };
      },
    },
  },
};
