// Serves the built admin UI (ui/dist) at /ui with secure headers, and the project's Markdown docs at
// /api/docs for the UI's wiki page. Only files inside those two directories can ever be read.

import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AdminContext } from './context.js';
import { BadRequest } from './http-errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Only our own scripts, styles and API; no framing, no inline script. */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function inside(root: string, relative: string): string | undefined {
  const full = resolve(root, '.' + sep + relative);
  return full.startsWith(resolve(root) + sep) ? full : undefined;
}

async function sendFile(reply: FastifyReply, path: string, immutable: boolean): Promise<FastifyReply> {
  const body = await readFile(path);
  return reply
    .header('content-type', TYPES[extname(path)] ?? 'application/octet-stream')
    .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-store')
    .send(body);
}

export function registerUiFiles(app: FastifyInstance, ctx: AdminContext): void {
  const uiDir = ctx.uiDir;
  const serveUi = async (path: string, reply: FastifyReply) => {
    if (!uiDir)
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send('the admin UI is not built: run `npm run build` (or `npm run build:ui`) and restart\n');
    reply.header('content-security-policy', UI_CSP);
    const file = path === '' ? undefined : inside(uiDir, path);
    if (file && path.startsWith('assets/')) {
      try {
        return await sendFile(reply, file, true);
      } catch {
        return reply.code(404).type('text/plain; charset=utf-8').send(`no UI asset ${path}\n`);
      }
    }
    if (file && extname(file) !== '' && extname(file) !== '.html') {
      try {
        return await sendFile(reply, file, false);
      } catch {
        // fall through to the app: it shows its own "not found" page
      }
    }
    // Client-side routes (/ui/tenants/x) all get the app's index.html.
    try {
      return await sendFile(reply, join(uiDir, 'index.html'), false);
    } catch {
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(`the admin UI is missing from ${uiDir}\n`);
    }
  };
  app.get('/', { config: { role: 'public' } }, async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui', { config: { role: 'public' } }, async (_req, reply) => reply.redirect('/ui/'));
  // Browsers ask for /favicon.ico on their own, without the token: point them at the UI's icon, not a 401.
  app.get('/favicon.ico', { config: { role: 'public' } }, async (_req, reply) =>
    reply.redirect('/ui/favicon.svg', 301),
  );
  app.get<{ Params: { '*': string } }>('/ui/*', { config: { role: 'public' } }, async (req, reply) =>
    serveUi(req.params['*'], reply),
  );

  app.get('/api/docs', async () => {
    if (!ctx.docsDir) return { pages: [] };
    const names = (await readdir(ctx.docsDir).catch(() => [] as string[]))
      .filter((n) => /^[a-z0-9-]+\.md$/.test(n))
      .sort();
    return { pages: names.map((n) => ({ name: n.slice(0, -3), file: n })) };
  });

  app.get<{ Params: { name: string } }>('/api/docs/:name', async (req, reply) => {
    const name = req.params.name;
    if (!/^[a-z0-9-]+$/.test(name))
      throw new BadRequest('name', 'must be a docs page name such as admin-api');
    const file = ctx.docsDir ? inside(ctx.docsDir, `${name}.md`) : undefined;
    if (!file) return reply.code(404).send({ error: `no docs page ${name}` });
    try {
      return { name, markdown: await readFile(file, 'utf8') };
    } catch {
      return reply.code(404).send({ error: `no docs page ${name}` });
    }
  });
}

/** Finds `<project>/<relative>` from this module, whether it runs from src/ (tsx) or dist/src/ (built). */
export function findProjectDir(relative: string, marker: string): string | undefined {
  let dir = new URL('.', import.meta.url).pathname;
  for (let up = 0; up < 5; up++) {
    const candidate = join(dir, relative);
    if (existsSync(join(candidate, marker))) return candidate;
    dir = join(dir, '..');
  }
  return undefined;
}
