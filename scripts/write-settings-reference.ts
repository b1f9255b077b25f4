// `npm run docs:settings`: rewrites docs/settings.md from the settings table (formatted as prettier would).
import { writeFileSync } from 'node:fs';
import prettier from 'prettier';
import { settingsReferenceMarkdown } from '../src/settings/settings-reference.js';

const path = new URL('../docs/settings.md', import.meta.url);
const text = await prettier.format(settingsReferenceMarkdown(), {
  ...(await prettier.resolveConfig(path)),
  parser: 'markdown',
});
writeFileSync(path, text);
console.log(`wrote ${path.pathname}`);
