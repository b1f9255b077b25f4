// Turns the text of Mimir's runtime overrides, from any source (a mounted file, a ConfigMap read from the
// Kubernetes API), into a committed version of the file layer. Keeps the last good content in force when
// new content is refused, and never re-parses (or re-reports) the same refused content.

import { ConfigError } from '../lib/config-error.js';
import type { ChangeSource } from './config-history.js';
import type { LimitsRegistry } from './limits-registry.js';
import { parseOverrides } from './overrides-file.js';

export interface ReloadStatus {
  /** The file's path, or `configmap <namespace>/<name> key <key>`. */
  file: string;
  /** Time of the last successful read (the content parsed and was applied or unchanged). */
  lastSuccessMs: number;
  lastAppliedMs: number;
  lastError?: { timeMs: number; message: string };
  tenants: number;
  ignoredLimits: number;
}

export type ReloadResult = 'applied' | 'unchanged' | 'error';

export class OverridesApplier {
  private lastText: string | undefined;
  /** The last refused content: not re-parsed (nor re-reported) until it changes again. */
  private lastBadText: string | undefined;
  /** While true a refusal is the caller's error to report (the service will not start), not a reload failure. */
  initialising = false;
  readonly status: ReloadStatus;

  constructor(
    name: string,
    private readonly registry: LimitsRegistry,
    private readonly source: Extract<ChangeSource, 'overrides_file' | 'configmap'>,
    private readonly onResult: (result: ReloadResult, detail: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.status = { file: name, lastSuccessMs: 0, lastAppliedMs: 0, tenants: 0, ignoredLimits: 0 };
  }

  /** Applies `text` as the new file layer (one version), or refuses it whole. Never throws for bad content. */
  offer(text: string, detail = ''): ReloadResult {
    if (text === this.lastBadText) return 'error';
    if (text === this.lastText) {
      // Also the way back from refused content: its last good content is in force again.
      this.lastBadText = undefined;
      delete this.status.lastError;
      this.status.lastSuccessMs = this.now();
      return 'unchanged';
    }
    let summary: string;
    try {
      summary = this.apply(text, detail);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.lastBadText = text;
      return this.failed(err.message);
    }
    this.lastBadText = undefined;
    delete this.status.lastError;
    this.status.lastSuccessMs = this.status.lastAppliedMs;
    this.onResult('applied', summary);
    return 'applied';
  }

  /**
   * Parses `text` and commits it as the new file layer (one version); throws ConfigError, changing nothing, if
   * it is refused. Returns what is now in force, for the log. Keeps no memory of refused content: offer() does,
   * and a WatchedFile does for the overrides file.
   */
  apply(text: string, detail = ''): string {
    const parsed = parseOverrides(text, this.status.file);
    const version = this.registry.setOverrides(parsed.tenants, {
      actor: this.source === 'configmap' ? 'overrides-configmap' : 'overrides-file',
      role: null,
      source: this.source,
      reason: detail ? `${this.status.file} (${detail})` : this.status.file,
      action: 'overrides.reload',
      tenant: null,
    });
    this.lastText = text;
    Object.assign(this.status, {
      lastAppliedMs: this.now(),
      tenants: parsed.tenants.size,
      ignoredLimits: parsed.ignoredLimits,
    });
    return `limits version ${version}: ${parsed.tenants.size} tenants with overrides`;
  }

  failed(message: string): ReloadResult {
    this.status.lastError = { timeMs: this.now(), message };
    if (!this.initialising) this.onResult('error', message);
    return 'error';
  }
}
