#!/usr/bin/env node
// Command-line entry: `mimir-edge-enforcement [flags]` starts the service; `--help` lists every setting.
// Configuration errors exit with status 2 and one line naming the setting and the bad value.

import { ConfigError } from './limits/config-error.js';
import { loadSettings, settingsHelp } from './config/settings.js';
import { startService } from './server/service.js';

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      `mimir-edge-enforcement: per-tenant Mimir limits enforced at the edge.\n\n${settingsHelp()}\n`,
    );
    return;
  }
  const settings = loadSettings(process.env, argv);
  const service = await startService(settings);
  process.on('SIGHUP', () => void service.reloadOverrides());
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    service.log.info({ signal }, 'shutting down: finishing in-flight requests');
    service.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`configuration error: ${err.message}\n`);
    process.exit(2);
  }
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') {
    process.stderr.write(`cannot listen: ${e.message}; set the *_PORT variables to free ports\n`);
    process.exit(2);
  }
  process.stderr.write(`fatal: ${e.stack ?? String(err)}\n`);
  process.exit(1);
});
