// Keeps the registry's file layer equal to the overrides file. Polls the file's content (not its inode or
// mtime), which also follows a Kubernetes ConfigMap volume's atomic `..data` symlink swap; a bad file is
// refused with a precise error and the last good limits stay in force.

import { readFile } from 'node:fs/promises';
import { ConfigError } from '../lib/config-error.js';
import { FreshRead } from './fresh-read.js';
import type { LimitsRegistry } from './limits-registry.js';
import { OverridesApplier } from './overrides-applier.js';
import type { ReloadResult, ReloadStatus } from './overrides-applier.js';

export type { ReloadResult, ReloadStatus };

export class OverridesWatcher {
  private readonly applier: OverridesApplier;
  private timer: NodeJS.Timeout | undefined;
  private readonly reloading = new FreshRead<ReloadResult>(() => this.readAndApply());

  constructor(
    private readonly file: string,
    registry: LimitsRegistry,
    onResult: (result: ReloadResult, detail: string) => void,
    now: () => number = Date.now,
  ) {
    this.applier = new OverridesApplier(file, registry, 'overrides_file', onResult, now);
  }

  get status(): ReloadStatus {
    return this.applier.status;
  }

  /** Reads and applies the file; throws ConfigError if it is invalid (used at start, where a bad file is fatal). */
  async loadInitial(): Promise<void> {
    this.applier.initialising = true;
    const result = await this.reload().finally(() => {
      this.applier.initialising = false;
    });
    // The message already names the file (and the path inside it).
    if (result === 'error') throw new ConfigError('overrides file', '', this.status.lastError!.message);
  }

  /**
   * Re-reads the file now. A call during a read gets one more read after it, so it sees the file as it was
   * when called (FreshRead). Never throws.
   */
  reload(): Promise<ReloadResult> {
    return this.reloading.run();
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.reload(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async readAndApply(): Promise<ReloadResult> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      return this.applier.failed(`cannot read the overrides file: ${(err as Error).message}`);
    }
    return this.applier.offer(text);
  }
}
