// RATELIMIT_CONFIG on disk: one YAML file or a directory of them (*.yaml, *.yml, not recursive), read at
// start and re-read when a file changes. A bad edit is refused and the last good config stays in force;
// readers get the current immutable config with a property read and never wait on a reload.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../limits/config-error.js';
import { EMPTY_RATELIMIT_CONFIG, parseRateLimitConfig } from './descriptor-config.js';
import type { ConfigFileText, RateLimitConfig } from './descriptor-config.js';

export type ReloadOutcome = 'applied' | 'error';

export interface ConfigSourceStatus {
  path: string;
  files: readonly string[];
  domains: readonly string[];
  lastAppliedMs: number;
  lastError: { timeMs: number; message: string } | undefined;
}

function listFiles(path: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw new ConfigError(
      path,
      '',
      `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (!isDir) return [path];
  return readdirSync(path)
    .filter((name) => /\.ya?ml$/i.test(name) && !name.startsWith('.'))
    .sort()
    .map((name) => join(path, name));
}

/** Names, sizes and modification times: a cheap fingerprint to notice edits without reading contents. */
function fingerprint(path: string): string {
  try {
    return listFiles(path)
      .map((f) => {
        const s = statSync(f);
        return `${f}:${s.size}:${s.mtimeMs}`;
      })
      .join('|');
  } catch {
    return 'unreadable';
  }
}

export function readRateLimitConfig(path: string): RateLimitConfig {
  const files: ConfigFileText[] = listFiles(path).map((name) => {
    try {
      return { name, text: readFileSync(name, 'utf8') };
    } catch (err) {
      throw new ConfigError(
        name,
        '',
        `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  });
  return parseRateLimitConfig(files);
}

export class RateLimitConfigSource {
  private config: RateLimitConfig = EMPTY_RATELIMIT_CONFIG;
  private seen = '';
  private timer: NodeJS.Timeout | undefined;
  private lastAppliedMs = 0;
  private lastError: { timeMs: number; message: string } | undefined;

  /** `path` empty: no descriptor rules (only the tenant fallback applies). */
  constructor(
    readonly path: string,
    private readonly onReload: (outcome: ReloadOutcome, detail: string) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** The config in force. */
  current(): RateLimitConfig {
    return this.config;
  }

  /** Reads the config; throws ConfigError so a bad file stops the service at start. */
  loadInitial(): void {
    if (!this.path) return;
    this.seen = fingerprint(this.path);
    this.config = readRateLimitConfig(this.path);
    this.lastAppliedMs = this.now();
  }

  /** Re-reads if anything changed; a refused file keeps the last good config. */
  reloadIfChanged(): void {
    if (!this.path) return;
    const print = fingerprint(this.path);
    if (print === this.seen) return;
    this.seen = print;
    try {
      this.config = readRateLimitConfig(this.path);
      this.lastAppliedMs = this.now();
      this.lastError = undefined;
      this.onReload(
        'applied',
        `${this.config.files.length} file(s), domains: ${[...this.config.domains.keys()].join(', ') || 'none'}`,
      );
    } catch (err) {
      const message = (err as Error).message;
      this.lastError = { timeMs: this.now(), message };
      this.onReload('error', message);
    }
  }

  start(intervalMs: number): void {
    if (!this.path || this.timer) return;
    this.timer = setInterval(() => this.reloadIfChanged(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get status(): ConfigSourceStatus {
    return {
      path: this.path,
      files: this.config.files,
      domains: [...this.config.domains.keys()],
      lastAppliedMs: this.lastAppliedMs,
      lastError: this.lastError,
    };
  }
}
