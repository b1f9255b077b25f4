// The operator's settings reference must list exactly the settings the service reads.
import { readFileSync } from 'node:fs';
import prettier from 'prettier';
import { expect, it } from 'vitest';
import { settingsReferenceMarkdown } from '../../../src/settings/settings-reference.js';

it('docs/settings.md is the current settings table (run `npm run docs:settings` after changing a setting)', async () => {
  const path = new URL('../../../docs/settings.md', import.meta.url);
  const expected = await prettier.format(settingsReferenceMarkdown(), {
    ...(await prettier.resolveConfig(path)),
    parser: 'markdown',
  });
  expect(readFileSync(path, 'utf8')).toBe(expected);
});
