#!/usr/bin/env node
// Command-line entry: `mimir-edge-enforcement [flags]` starts the service; `--help` lists every setting.
// Configuration errors exit with status 2 and one line naming the setting and the bad value.

import { ConfigError } from './lib/config-error.js';
import { loadSettings, settingsHelp } from './settings/settings.js';

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      `mimir-edge-enforcement: per-tenant Mimir limits enforced at the edge.\n\n${settingsHelp()}\n`,
    );
    return;
  }
  const settings = loadSettings(process.env, argv);
  // Loaded only to serve: --help and a configuration error need none of the service's modules.
  const { startService } = await import('./app/service.js');
  const service = await startService(settings);
  process.on('SIGHUP', () => void service.reloadOverrides());
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const { delayMs, graceMs } = settings.shutdown;
    service.log.info(
      { signal, delay_ms: delayMs, grace_ms: graceMs },
      'shutting down: finishing in-flight requests',
    );
    // Whatever hangs while closing (a store, a stuck socket), the process still ends, 5 s past its budget.
    setTimeout(
      () => {
        service.log.error({ signal }, 'shutdown did not finish in time; exiting');
        process.exit(1);
      },
      delayMs + graceMs + 5000,
    ).unref();
    service.stop(graceMs, delayMs).then(
      () => process.exit(0),
      (err: unknown) => {
        service.log.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
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
