// Keeps the registry's overrides equal to the overrides file. Polls the file's content (not its inode or
// mtime), which also follows a Kubernetes ConfigMap volume's atomic `..data` symlink swap; a bad file is
// refused with a precise error and the last good limits stay in force.

import { readFile } from 'node:fs/promises';
import { ConfigError } from './config-error.js';
import type { LimitsRegistry } from './limits-registry.js';
import { parseOverrides } from './overrides-file.js';

export interface ReloadStatus {
  file: string;
  /** Time of the last successful read (the file parsed and was applied or unchanged). */
  lastSuccessMs: number;
  lastAppliedMs: number;
  lastError?: { timeMs: number; message: string };
  tenants: number;
  ignoredLimits: number;
}

export type ReloadResult = 'applied' | 'unchanged' | 'error';

export class OverridesWatcher {
  private lastText: string | undefined;
  /** The last refused content: not re-parsed (nor re-reported) until the file changes again. */
  private lastBadText: string | undefined;
  /** While true a refused file is the caller's error to report (the service will not start), not a reload failure. */
  private initialising = false;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<ReloadResult> | undefined;
  readonly status: ReloadStatus;

  constructor(
    private readonly file: string,
    private readonly registry: LimitsRegistry,
    private readonly onResult: (result: ReloadResult, detail: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.status = { file, lastSuccessMs: 0, lastAppliedMs: 0, tenants: 0, ignoredLimits: 0 };
  }

  /** Reads and applies the file; throws ConfigError if it is invalid (used at start, where a bad file is fatal). */
  async loadInitial(): Promise<void> {
    this.initialising = true;
    const result = await this.reload().finally(() => {
      this.initialising = false;
    });
    // The message already names the file (and the path inside it).
    if (result === 'error') throw new ConfigError('overrides file', '', this.status.lastError!.message);
  }

  /** Re-reads the file now; concurrent calls share one read. Never throws. */
  reload(): Promise<ReloadResult> {
    this.reloading ??= this.readAndApply().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
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
      return this.failed(`cannot read the overrides file: ${(err as Error).message}`);
    }
    if (text === this.lastBadText) return 'error';
    if (text === this.lastText) {
      // Also the way back from a refused file: its last good content is in force again.
      this.lastBadText = undefined;
      delete this.status.lastError;
      this.status.lastSuccessMs = this.now();
      return 'unchanged';
    }
    try {
      const parsed = parseOverrides(text, this.file);
      const version = this.registry.setOverrides(parsed.tenants);
      this.lastText = text;
      this.lastBadText = undefined;
      delete this.status.lastError;
      const now = this.now();
      Object.assign(this.status, {
        lastSuccessMs: now,
        lastAppliedMs: now,
        tenants: parsed.tenants.size,
        ignoredLimits: parsed.ignoredLimits,
      });
      this.onResult('applied', `limits version ${version}: ${parsed.tenants.size} tenants with overrides`);
      return 'applied';
    } catch (err) {
      if (err instanceof ConfigError) {
        this.lastBadText = text;
        return this.failed(err.message);
      }
      throw err;
    }
  }

  private failed(message: string): ReloadResult {
    this.status.lastError = { timeMs: this.now(), message };
    if (!this.initialising) this.onResult('error', message);
    return 'error';
  }
}
