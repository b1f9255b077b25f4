// RATELIMIT_CONFIG on disk: one YAML file or a directory of them (*.yaml, *.yml, not recursive), read at
// start and re-read when a file changes (a WatchedFile, synchronous: a reload is in force when it returns). A
// bad edit is refused and the last good config stays in force; readers get the current immutable config with
// a property read and never wait on a reload. Every applied config is a numbered version (SourceVersionLog,
// audited) with the checksum of what was read.

import { SourceVersionLog } from '../../observe/audit/config-audit.js';
import { WatchedFile, readSourceFiles } from '../../limits/watched-file.js';
import { EMPTY_RATELIMIT_CONFIG, parseRateLimitConfig } from './descriptor-config.js';
import type { ConfigFileText, ParseOptions, RateLimitConfig } from './descriptor-config.js';

export type ReloadOutcome = 'applied' | 'error';

/** Names RATELIMIT_CONFIG in read errors: "cannot read the descriptor config: ENOENT". */
const LABEL = 'descriptor config';

export interface ConfigSourceStatus {
  path: string;
  files: readonly string[];
  domains: readonly string[];
  lastAppliedMs: number;
  lastError: { timeMs: number; message: string } | undefined;
}

export function readRateLimitConfig(path: string, options: ParseOptions = {}): RateLimitConfig {
  return parseRateLimitConfig(readSourceFiles(path, LABEL, true), options);
}

export class RateLimitConfigSource {
  private config: RateLimitConfig = EMPTY_RATELIMIT_CONFIG;
  /** Watches `path` (a file or a directory); absent without RATELIMIT_CONFIG. */
  private readonly watched: WatchedFile | undefined;
  /** Every applied config and every refusal, numbered; the audit log follows it. */
  readonly versions: SourceVersionLog;

  /** `path` empty: no descriptor rules (only the tenant fallback applies). */
  constructor(
    readonly path: string,
    private readonly onReload: (outcome: ReloadOutcome, detail: string) => void = () => {},
    now: () => number = Date.now,
    /** How files are combined (MERGE_DOMAIN_CONFIG). */
    private readonly parseOptions: ParseOptions = {},
  ) {
    this.versions = new SourceVersionLog('ratelimit_config', path, now);
    if (!path) return;
    this.watched = new WatchedFile(path, (files) => this.apply(files), {
      label: LABEL,
      directories: true,
      // A directory of files is polled often: its names, inodes, sizes and mtimes first, contents on a change.
      statFirst: true,
      sync: true,
      onResult: (outcome, detail, checksum) => {
        this.versions.record(outcome, checksum, detail);
        this.onReload(outcome, detail);
      },
      now,
    });
  }

  /** The config in force. */
  current(): RateLimitConfig {
    return this.config;
  }

  /** Reads the config; throws ConfigError so a bad file stops the service at start. */
  loadInitial(): void {
    if (!this.watched) return;
    const { detail, checksum } = this.watched.loadInitialSync();
    this.versions.record('applied', checksum, detail);
  }

  /** The WatchedFile's parser: the new config, swapped in whole, or an error that leaves the old one. */
  private apply(files: readonly ConfigFileText[]): string {
    // One assignment: a request reads the old config or the new one whole, never a mix.
    this.config = parseRateLimitConfig(files, this.parseOptions);
    return this.describe();
  }

  private describe(): string {
    return `${this.config.files.length} file(s), domains: ${[...this.config.domains.keys()].join(', ') || 'none'}`;
  }

  /** Re-reads if anything changed; a refused file keeps the last good config. */
  reloadIfChanged(): void {
    this.watched?.reloadSync();
  }

  /** The version in force (0 without RATELIMIT_CONFIG). */
  get version(): number {
    return this.versions.version;
  }

  start(intervalMs: number): void {
    this.watched?.start(intervalMs);
  }

  stop(): void {
    this.watched?.stop();
  }

  get status(): ConfigSourceStatus {
    return {
      path: this.path,
      files: this.config.files,
      domains: [...this.config.domains.keys()],
      lastAppliedMs: this.watched?.status.lastAppliedMs ?? 0,
      lastError: this.watched?.status.lastError,
    };
  }
}
