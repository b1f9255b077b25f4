// Renders docs/settings.md from the settings table, so the operator reference can never drift from the
// code: a unit test fails when the committed page differs from what this renders.

import { SETTING_DEFINITIONS } from './definitions/index.js';
import { flagName } from './setting-kinds.js';
import type { NamedSettingDefinition } from './setting-kinds.js';

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** The type column: the kind, with the bounds its definition adds (`int (min 1)`, `int (0-65535)`). */
function typeCell(d: NamedSettingDefinition): string {
  if (d.kind === 'int' && d.max !== undefined) return `int (${d.min ?? 0}-${d.max})`;
  if (d.kind === 'int' && d.min !== undefined && d.min > 0) return `int (min ${d.min})`;
  if (d.kind === 'duration' && d.allowZero === true) return 'duration (0: off)';
  return d.kind;
}

export function settingsReferenceMarkdown(): string {
  const lines = [
    '# Settings reference',
    '',
    '<!-- Generated from src/settings/definitions/ by `npm run docs:settings`; do not edit by hand. -->',
    '',
    'Every setting is an environment variable, a command-line flag and a lower-case key of `CONFIG_FILE`.',
    'A flag wins over the environment, which wins over the file, which wins over the default.',
    'How they combine, and what the limits mean, is in [configuration.md](configuration.md).',
    '',
    '| env var | flag | type | default | meaning |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const d of SETTING_DEFINITIONS) {
    const choices =
      'choices' in d && d.choices ? ` One of: ${d.choices.map((c) => `\`${c}\``).join(', ')}.` : '';
    const def = d.defaultValue === '' ? '_(none)_' : `\`${cell(d.defaultValue)}\``;
    lines.push(
      `| \`${d.env}\` | \`${flagName(d.env)}\` | ${typeCell(d)} | ${def} | ${cell(d.description)}${choices} |`,
    );
  }
  return lines.join('\n') + '\n';
}
