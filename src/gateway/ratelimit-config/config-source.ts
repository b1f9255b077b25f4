// RATELIMIT_CONFIG on disk: one YAML file or a directory of them (*.yaml, *.yml, not recursive), read at
// start and re-read when a file changes. A bad edit is refused and the last good config stays in force;
// readers get the current immutable config with a property read and never wait on a reload. Every applied
// config is a numbered version (SourceVersionLog, audited) with the checksum of what was read.

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SourceVersionLog } from '../../observe/audit/config-audit.js';
import { ConfigError } from '../../lib/config-error.js';
import { EMPTY_RATELIMIT_CONFIG, parseRateLimitConfig } from './descriptor-config.js';
import type { ConfigFileText, ParseOptions, RateLimitConfig } from './descriptor-config.js';

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

/**
 * Names, inodes, sizes and modification times: a cheap fingerprint to notice edits without reading contents.
 * The inode catches a file renamed into place within one mtime tick; content checksums decide what is new.
 */
function fingerprint(path: string): string {
  try {
    return listFiles(path)
      .map((f) => {
        const s = statSync(f);
        return `${f}:${s.ino}:${s.size}:${s.mtimeMs}`;
      })
      .join('|');
  } catch {
    return 'unreadable';
  }
}

function readFiles(path: string): ConfigFileText[] {
  return listFiles(path).map((name) => {
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
}

/** sha256 over every file's name and content, in the order they are read. */
function checksum(files: readonly ConfigFileText[]): string {
  const hash = createHash('sha256');
  for (const f of files) hash.update(f.name).update('\0').update(f.text).update('\0');
  return hash.digest('hex');
}

export function readRateLimitConfig(path: string, options: ParseOptions = {}): RateLimitConfig {
  return parseRateLimitConfig(readFiles(path), options);
}

export class RateLimitConfigSource {
  private config: RateLimitConfig = EMPTY_RATELIMIT_CONFIG;
  private seen = '';
  private timer: NodeJS.Timeout | undefined;
  private lastAppliedMs = 0;
  private lastError: { timeMs: number; message: string } | undefined;
  /** The checksum of the config in force, and of the last refused content (recorded once). */
  private goodSum = '';
  private badSum: string | undefined;
  /** Every applied config and every refusal, numbered; the audit log follows it. */
  readonly versions: SourceVersionLog;

  /** `path` empty: no descriptor rules (only the tenant fallback applies). */
  constructor(
    readonly path: string,
    private readonly onReload: (outcome: ReloadOutcome, detail: string) => void = () => {},
    private readonly now: () => number = Date.now,
    /** How files are combined (MERGE_DOMAIN_CONFIG). */
    private readonly parseOptions: ParseOptions = {},
  ) {
    this.versions = new SourceVersionLog('ratelimit_config', path, now);
  }

  /** The config in force. */
  current(): RateLimitConfig {
    return this.config;
  }

  /** Reads the config; throws ConfigError so a bad file stops the service at start. */
  loadInitial(): void {
    if (!this.path) return;
    this.seen = fingerprint(this.path);
    const files = readFiles(this.path);
    this.config = parseRateLimitConfig(files, this.parseOptions);
    this.goodSum = checksum(files);
    this.lastAppliedMs = this.now();
    this.versions.record('applied', this.goodSum, this.describe());
  }

  private describe(): string {
    return `${this.config.files.length} file(s), domains: ${[...this.config.domains.keys()].join(', ') || 'none'}`;
  }

  /** Re-reads if anything changed; a refused file keeps the last good config. */
  reloadIfChanged(): void {
    if (!this.path) return;
    const print = fingerprint(this.path);
    if (print === this.seen) return;
    this.seen = print;
    let sum = '';
    try {
      const files = readFiles(this.path);
      sum = checksum(files);
      // Touched or rewritten with the same content: no new version.
      if (sum === this.goodSum) {
        this.lastError = undefined;
        this.badSum = undefined;
        return;
      }
      if (sum === this.badSum) return;
      const next = parseRateLimitConfig(files, this.parseOptions);
      // One assignment: a request reads the old config or the new one whole, never a mix.
      this.config = next;
      this.goodSum = sum;
      this.badSum = undefined;
      this.lastAppliedMs = this.now();
      this.lastError = undefined;
      const detail = this.describe();
      this.versions.record('applied', sum, detail);
      this.onReload('applied', detail);
    } catch (err) {
      const message = (err as Error).message;
      this.lastError = { timeMs: this.now(), message };
      this.badSum = sum;
      this.versions.record('error', sum, message);
      this.onReload('error', message);
    }
  }

  /** The version in force (0 without RATELIMIT_CONFIG). */
  get version(): number {
    return this.versions.version;
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
