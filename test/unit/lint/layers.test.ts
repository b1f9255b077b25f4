// The layering rule of src/ (scripts/eslint/layers.mjs), run by eslint in `npm test`: an import that points up
// the layers, names a folder that is not a layer, or leaves the library's entry file is an error; imports that
// point down or stay in their folder are not. Also: the tree as it is passes the rule.
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { LAYERS, layersPlugin } from '../../../scripts/eslint/layers.mjs';

const root = new URL('../../../', import.meta.url).pathname;

function linter(): ESLint {
  return new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        // Only this rule runs here, so directives that silence other rules would read as unused.
        linterOptions: { reportUnusedDisableDirectives: 'off' },
        plugins: { layers: layersPlugin },
        rules: { 'layers/downward-only': 'error' },
      },
    ],
  });
}

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await linter().lintText(code, { filePath: join(root, file) });
  return result!.messages.map((m) => m.message);
}

describe('layers/downward-only', () => {
  it('refuses an import of a higher layer, in every form of import', async () => {
    expect(await problems('src/decide/x.ts', "import { a } from '../proxy/proxy-server.js';")).toEqual([
      expect.stringContaining('decide/ may not import proxy/'),
    ]);
    expect(await problems('src/lib/engine/x.ts', "export * from '../../app/service.js';")).toHaveLength(1);
    expect(await problems('src/observe/x.ts', "export { b } from '../admin/access.js';")).toHaveLength(1);
    expect(await problems('src/stores/x.ts', "const m = import('../decide/enforcer.js');")).toHaveLength(1);
  });

  it('allows imports down the layers and within a folder', async () => {
    expect(await problems('src/proxy/x.ts', "import { a } from '../decide/write-checker.js';")).toEqual([]);
    expect(await problems('src/decide/x.ts', "import { a } from './enforcer.js';")).toEqual([]);
    expect(await problems('src/app/x.ts', "import { a } from '../lib/engine/rate-limiter.js';")).toEqual([]);
    expect(await problems('src/lib/http/x.ts', "import { a } from '../policy/policy-set.js';")).toEqual([]);
  });

  it('refuses a folder that is not a layer, and keeps the library entry to lib/', async () => {
    expect(await problems('src/decide/x.ts', "import { a } from '../server/x.js';")).toEqual([
      expect.stringContaining('src/server/ is not a layer'),
    ]);
    expect(await problems('src/index.ts', "export { a } from './decide/enforcer.js';")).toHaveLength(1);
    expect(await problems('src/index.ts', "export { a } from './lib/engine/rate-limiter.js';")).toEqual([]);
    expect(await problems('src/cli.ts', "import { a } from './app/service.js';")).toEqual([]);
  });

  it('lists every top-level folder of src/ as a layer, once', async () => {
    const { readdirSync } = await import('node:fs');
    const folders = readdirSync(join(root, 'src'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect([...LAYERS.map(([name]) => name)].sort()).toEqual(folders);
  });

  it('passes on the tree as it is', async () => {
    const eslint = linter();
    const results = await eslint.lintFiles(['src/**/*.ts']);
    const errors = results.flatMap((r) => r.messages.map((m) => `${r.filePath}: ${m.message}`));
    expect(errors).toEqual([]);
  });
});
