// `npm start` (scripts/start.mjs) on a copy of the project: the first run builds, a run with nothing changed
// skips both builds and says so, a changed service source or UI file is rebuilt before the service starts (the
// change shows in what it serves), and the generated admin token is shown as a block of its own.
//
// The copy lives in a temp directory (its node_modules a link to this one's), so this test never rebuilds the
// dist/ that other tests run.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcess, waitForHttp } from '../helpers/child-process.js';
import type { ManagedProcess } from '../helpers/child-process.js';
import { freePorts } from '../helpers/ports.js';
import { pushRemoteWrite, snappyBody } from '../helpers/write-request.js';

const repo = join(import.meta.dirname, '..', '..');
const BUILD_TIMEOUT = 240_000;
let project: string;
let running: ManagedProcess | undefined;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'start-script-'));
  for (const entry of [
    'src',
    'scripts',
    'examples',
    'ui',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
  ])
    cpSync(join(repo, entry), join(project, entry), {
      recursive: true,
      // Never this checkout's build output: the copy starts with none.
      filter: (from) => !relative(repo, from).split(sep).includes('dist'),
    });
  symlinkSync(realpathSync(join(repo, 'node_modules')), join(project, 'node_modules'));
});

afterAll(async () => {
  await running?.stop();
  if (project) rmSync(project, { recursive: true, force: true });
});

/** `npm start -- --help` in the copy, bounded. */
function help(): { output: string; status: number | null } {
  const result = spawnSync(process.execPath, ['scripts/start.mjs', '--help'], {
    cwd: project,
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT - 10_000,
  });
  return { output: `${result.stdout}${result.stderr}`, status: result.status };
}

/** `npm start` in the copy until the admin UI answers; returns its output so far and the UI's index.html. */
async function start(
  extraEnv: NodeJS.ProcessEnv = {},
  meanwhile?: (proxyUrl: string) => Promise<void>,
): Promise<{ output: string; index: string }> {
  const [proxy, extAuthz, admin, ratelimit, metrics] = await freePorts(5);
  running = startProcess({
    name: 'npm start',
    command: process.execPath,
    args: ['scripts/start.mjs'],
    cwd: project,
    keepLines: 400,
    env: {
      ...process.env,
      BIND_ADDRESS: '127.0.0.1',
      PROXY_PORT: String(proxy),
      EXT_AUTHZ_PORT: String(extAuthz),
      ADMIN_PORT: String(admin),
      RATELIMIT_PORT: String(ratelimit),
      METRICS_PORT: String(metrics),
      ADMIN_TOKEN: '',
      ADMIN_TOKENS_FILE: '',
      LOG_FORMAT: 'json',
      ...extraEnv,
    },
  });
  await waitForHttp(`http://127.0.0.1:${admin}/ui/`, BUILD_TIMEOUT - 20_000, { process: running });
  const index = await (await fetch(`http://127.0.0.1:${admin}/ui/`)).text();
  await meanwhile?.(`http://127.0.0.1:${proxy}`);
  // The token block follows the listening line; give the pipe a moment.
  const deadline = Date.now() + 5000;
  while (!running.output().includes('Admin token') && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  const output = running.output();
  await running.stop();
  running = undefined;
  return { output, index };
}

describe('npm start builds only what changed', () => {
  it(
    'builds the service on the first run; --help needs no UI build',
    () => {
      const { output, status } = help();
      expect(status, output).toBe(0);
      expect(output).toContain('> building the service into dist/ (no previous build)');
      expect(output).toContain('per-tenant Mimir limits enforced at the edge');
      expect(output).not.toContain('admin UI');
    },
    BUILD_TIMEOUT,
  );

  it('skips the build when nothing changed', () => {
    const { output, status } = help();
    expect(status, output).toBe(0);
    expect(output).toContain('> the service (dist/) is up to date: not rebuilt');
    expect(output).not.toContain('> building');
  });

  it(
    'rebuilds after a source file changed, and the change is what runs',
    () => {
      const cli = join(project, 'src', 'cli.ts');
      writeFileSync(
        cli,
        readFileSync(cli, 'utf8').replace(
          'per-tenant Mimir limits enforced at the edge',
          'per-tenant Mimir limits enforced at the edge (edited)',
        ),
      );
      const { output, status } = help();
      expect(status, output).toBe(0);
      expect(output).toContain('> building the service into dist/');
      expect(output).toContain('per-tenant Mimir limits enforced at the edge (edited)');
    },
    BUILD_TIMEOUT,
  );

  it(
    'builds the UI when it has none, then starts; the generated token stands in a block of its own',
    async () => {
      const { output, index } = await start();
      expect(output).toContain('> the service (dist/) is up to date: not rebuilt');
      expect(output).toContain('> building the admin UI into ui/dist/ (no previous build)');
      expect(index).toContain('<title>Mimir Edge Enforcement</title>');
      const lines = output.split('\n').map((line) => line.replace(/^\[stdout\] /, ''));
      const at = lines.findIndex((line) => line.startsWith('  Admin token (generated, shown once):'));
      expect(at, output).toBeGreaterThan(0);
      const logged = lines.find((line) => line.includes('generated admin token'));
      const token = /generated admin token ([A-Za-z0-9_-]+)/.exec(logged ?? '')?.[1];
      expect(token, output).toBeDefined();
      // A blank line and a rule above, the token alone on its line, the UI address, and a rule below.
      expect(lines[at - 2]).toBe('');
      expect(lines[at - 1]).toMatch(/^-{20,}$/);
      expect(lines[at]).toBe(`  Admin token (generated, shown once):  ${token}`);
      expect(lines[at + 1]).toMatch(/^ {2}Open http:\/\/127\.0\.0\.1:\d+\/ui\/ and paste it\.$/);
      expect(lines.slice(at + 2, at + 5).some((line) => /^-{20,}$/.test(line))).toBe(true);
    },
    BUILD_TIMEOUT,
  );

  it(
    'rebuilds the UI after a UI file changed, and serves the change',
    async () => {
      const html = join(project, 'ui', 'index.html');
      writeFileSync(
        html,
        readFileSync(html, 'utf8').replace('<title>Mimir Edge Enforcement</title>', '<title>Edited</title>'),
      );
      const { output, index } = await start();
      expect(output).toContain('> the service (dist/) is up to date: not rebuilt');
      expect(output).toContain('> building the admin UI into ui/dist/');
      expect(index).toContain('<title>Edited</title>');
    },
    BUILD_TIMEOUT,
  );

  it(
    'with nothing changed, starts without building either',
    async () => {
      const { output, index } = await start();
      expect(output).toContain('> the service (dist/) is up to date: not rebuilt');
      expect(output).toContain('> the admin UI (ui/dist/) is up to date: not rebuilt');
      expect(output).not.toContain('> building');
      expect(index).toContain('<title>Edited</title>');
    },
    BUILD_TIMEOUT,
  );

  it(
    'shows no token block for text a client put into a log line',
    async () => {
      const forged =
        'generated admin token AAAAforgedAAAA (shown once; x). Open http://evil.example/ui/ and paste it';
      const { output } = await start({ ADMIN_TOKEN: 'the-operators-own-token' }, async (proxyUrl) => {
        // Over max_label_value_length: denied, and logged with the start of the value in its message.
        const body = snappyBody([{ labels: { __name__: 'm', forged: `${forged} ${'x'.repeat(4096)}` } }]);
        expect(await pushRemoteWrite(proxyUrl, 'tenant-a', body)).toBe(400);
        const deadline = Date.now() + 5000;
        while (!running!.output().includes('AAAAforgedAAAA') && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
      });
      expect(output).toContain('AAAAforgedAAAA');
      expect(output).not.toContain('Admin token (generated');
      expect(output).not.toContain('  Open http://evil.example');
    },
    BUILD_TIMEOUT,
  );
  it(
    'does not start after a failed build, and builds again on the next start',
    () => {
      const cli = join(project, 'src', 'cli.ts');
      writeFileSync(cli, `${readFileSync(cli, 'utf8')}\nconst broken: number = 'not a number';\n`);
      for (let attempt = 0; attempt < 2; attempt++) {
        const { output, status } = help();
        expect(status, output).toBe(1);
        expect(output).toContain('> building the service into dist/');
        expect(output).toContain("Type 'string' is not assignable to type 'number'");
        expect(output).toContain('> building the service failed (errors above): not starting');
        expect(output).not.toContain('per-tenant Mimir limits');
      }
    },
    2 * BUILD_TIMEOUT,
  );
});
