// Keeps the registry's file layer equal to the overrides file. A WatchedFile polls the file's content (not its
// inode or mtime), which also follows a Kubernetes ConfigMap volume's atomic `..data` symlink swap; a bad file
// is refused with a precise error and the last good limits stay in force.

import { ConfigError } from '../lib/config-error.js';
import type { LimitsRegistry } from './limits-registry.js';
import { OverridesApplier } from './overrides-applier.js';
import type { ReloadResult, ReloadStatus } from './overrides-applier.js';
import { WatchedFile } from './watched-file.js';

export type { ReloadResult, ReloadStatus };

export class OverridesWatcher {
  private readonly applier: OverridesApplier;
  private readonly watched: WatchedFile;

  constructor(
    file: string,
    registry: LimitsRegistry,
    private readonly onResult: (result: ReloadResult, detail: string) => void,
    now: () => number = Date.now,
  ) {
    this.applier = new OverridesApplier(file, registry, 'overrides_file', onResult, now);
    this.watched = new WatchedFile(file, ([only]) => this.applier.apply(only!.text), {
      label: 'overrides file',
      isRefusal: (err) => err instanceof ConfigError,
      onResult,
      now,
    });
  }

  /** The applier's counts, with the read state (last success, last error) of the file. */
  get status(): ReloadStatus {
    const read = this.watched.status;
    const status: ReloadStatus = {
      ...this.applier.status,
      lastSuccessMs: read.lastSuccessMs,
      lastAppliedMs: read.lastAppliedMs,
    };
    if (read.lastError) status.lastError = read.lastError;
    else delete status.lastError;
    return status;
  }

  /** Reads and applies the file; throws ConfigError if it is invalid (used at start, where a bad file is fatal). */
  async loadInitial(): Promise<void> {
    // The messages already name the file (and the path inside it).
    const { detail } = await this.watched.loadInitial();
    this.onResult('applied', detail);
  }

  /**
   * Re-reads the file now. A call during a read gets one more read after it, so it sees the file as it was
   * when called. Never throws.
   */
  reload(): Promise<ReloadResult> {
    return this.watched.reload();
  }

  start(intervalMs: number): void {
    this.watched.start(intervalMs);
  }

  stop(): void {
    this.watched.stop();
  }
}
