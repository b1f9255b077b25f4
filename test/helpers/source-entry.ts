// Options for test/helpers/service.ts that run src/cli.ts through tsx instead of dist/src/cli.js, so a
// child-process test needs no build and always runs the code in the working tree.

import { join } from 'node:path';
import { repoRoot } from './service.js';

export const FROM_SOURCE = {
  entry: join(repoRoot, 'src', 'cli.ts'),
  env: { NODE_OPTIONS: '--import tsx', LOG_LEVEL: 'warn' } as Record<string, string>,
};
