// The DEFAULT_* settings: one per limit of src/limits/limit-definitions.ts that names an env var, setting the
// limit for tenants without an override. Derived from the limits table, so they are listed (help, flags,
// config-file keys, docs) here and read by loadSettings through the limits' own validation, not parseValue.
// Kept apart from the service settings so their env names (plain strings) do not widen the typed names.

import { LIMIT_DEFINITIONS } from '../../limits/limit-definitions.js';
import type { NamedSettingDefinition } from '../setting-kinds.js';

export const LIMIT_DEFAULT_SETTINGS: readonly NamedSettingDefinition[] = LIMIT_DEFINITIONS.flatMap((d) =>
  d.env === undefined
    ? []
    : [
        {
          env: d.env,
          // Fractional limits are written as text in the reference ("string"), whole ones as int.
          kind: d.kind === 'int' ? 'int' : 'string',
          defaultValue: String(d.defaultValue),
          description: `Default ${d.name} for tenants without an override. ${d.description}`,
        },
      ],
);
