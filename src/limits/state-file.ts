// Keeps the limits configuration across restarts under STATE_DIR: the runtime layers in limits-state.json
// (replaced atomically on every change) and every version in config-history.jsonl (appended, fsynced,
// compacted past twice the retained count). Never writes on the hot path; a torn last line is skipped.
// Both files are created 0600 and STATE_DIR 0700 when the edge creates it (atomic-file.ts).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appendPrivate, makePrivateDir, writeFileAtomic } from './atomic-file.js';
import { ConfigError } from '../lib/config-error.js';
import { fromDocument, mergePartial, toDocument } from './config-document.js';
import type { PartialConfig } from './config-document.js';
import { ConfigHistory, DEFAULT_RETAINED_VERSIONS } from './config-history.js';
import type { ChangeSource, ConfigVersion } from './config-history.js';
import { EMPTY_CONFIG, LAYERS } from './limits-config.js';
import type { LimitsConfig, TenantChange } from './limits-config.js';
import type { ConfigPersistence } from './limits-registry.js';
import { isMapping } from '../lib/is-mapping.js';

export const STATE_FILE = 'limits-state.json';
export const HISTORY_FILE = 'config-history.jsonl';
const FORMAT = 1;

export interface LoadedState {
  history: ConfigHistory;
  /** The runtime layers as last saved, or undefined on a first start. */
  runtime: LimitsConfig | undefined;
  /** Problems that lost nothing in force (e.g. a history line cut short by a crash). */
  warnings: string[];
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const LAYER_NAMES = new Set<string>(LAYERS.map((l) => l.name));

function versionFromJson(value: unknown): ConfigVersion | undefined {
  if (!isMapping(value) || !Number.isInteger(value.version) || !Array.isArray(value.changes))
    return undefined;
  const changes: TenantChange[] = [];
  for (const c of value.changes as unknown[]) {
    if (!isMapping(c) || !LAYER_NAMES.has(c.layer as string) || typeof c.tenant !== 'string')
      return undefined;
    const before = c.before ?? null;
    const after = c.after ?? null;
    if ((before !== null && !isMapping(before)) || (after !== null && !isMapping(after))) return undefined;
    changes.push({
      layer: c.layer as TenantChange['layer'],
      tenant: c.tenant,
      before,
      after,
    } as TenantChange);
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    version: value.version as number,
    timeMs: typeof value.timeMs === 'number' ? value.timeMs : 0,
    actor: str(value.actor) ?? 'unknown',
    role: str(value.role),
    source: (str(value.source) ?? 'state') as ChangeSource,
    reason: str(value.reason),
    action: str(value.action) ?? 'config.change',
    tenant: str(value.tenant),
    changes,
  };
}

export class StateDirectory implements ConfigPersistence {
  readonly stateFile: string;
  readonly historyFile: string;
  /** Versions already in the history file. */
  private written = 0;
  private historyLines = 0;

  constructor(
    readonly dir: string,
    private readonly retain = DEFAULT_RETAINED_VERSIONS,
  ) {
    this.stateFile = join(dir, STATE_FILE);
    this.historyFile = join(dir, HISTORY_FILE);
  }

  /** Reads what the last run saved. A state file that cannot be read is an error: starting without it would lose limits. */
  async load(): Promise<LoadedState> {
    await makePrivateDir(this.dir);
    const warnings: string[] = [];
    let runtime: LimitsConfig | undefined;
    const stateText = await readIfExists(this.stateFile);
    if (stateText !== undefined) {
      let root: unknown;
      try {
        root = JSON.parse(stateText);
      } catch (err) {
        throw new ConfigError(
          this.stateFile,
          '',
          `not valid JSON (${(err as Error).message}); fix or remove it`,
        );
      }
      if (!isMapping(root) || root.format !== FORMAT || !isMapping(root.config))
        throw new ConfigError(
          this.stateFile,
          'format',
          `must be ${FORMAT} with a config; fix or remove the file`,
        );
      const partial: PartialConfig = fromDocument(root.config, this.stateFile);
      runtime = mergePartial(EMPTY_CONFIG, { ...partial, overrides: new Map() });
    }

    let base = { version: 0, config: EMPTY_CONFIG };
    const versions: ConfigVersion[] = [];
    const historyText = (await readIfExists(this.historyFile)) ?? '';
    const lines = historyText.split('\n').filter((l) => l.trim() !== '');
    for (const [i, line] of lines.entries()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        warnings.push(`${this.historyFile}: line ${i + 1} is cut short (a crash while writing); ignored`);
        break;
      }
      if (isMapping(parsed) && isMapping(parsed.base) && i === 0) {
        const b = parsed.base;
        base = {
          version: Number(b.version) || 0,
          config: mergePartial(EMPTY_CONFIG, fromDocument(b.config, `${this.historyFile}: base`)),
        };
        continue;
      }
      const v = versionFromJson(parsed);
      const expected = (versions.at(-1)?.version ?? base.version) + 1;
      if (!v || v.version !== expected) {
        warnings.push(
          `${this.historyFile}: line ${i + 1} is not version ${expected}; the history stops before it`,
        );
        break;
      }
      versions.push(v);
    }
    const history = new ConfigHistory(this.retain, base, versions);
    this.written = history.latest;
    this.historyLines = lines.length;
    return { history, runtime, warnings };
  }

  unsaved(version: number, err: Error): string {
    return `version ${version} is in force but could not be saved to STATE_DIR, so a restart would lose it: ${err.message}`;
  }

  /** Saves the runtime layers (atomically) and appends the versions not yet in the history file. */
  async save(history: ConfigHistory, config: LimitsConfig): Promise<void> {
    const document = toDocument(config, history.latest);
    const state = {
      format: FORMAT,
      version: history.latest,
      config: { runtime: document.runtime },
    };
    await writeFileAtomic(this.stateFile, `${JSON.stringify(state, null, 2)}\n`);
    const pending = history.all().filter((v) => v.version > this.written);
    if (pending.length === 0) return;
    if (this.historyLines + pending.length > 2 * this.retain || this.written < (history.oldest ?? 1) - 1) {
      await this.compact(history);
      return;
    }
    await appendPrivate(this.historyFile, pending.map((v) => `${JSON.stringify(v)}\n`).join(''));
    // What was appended, not history.latest: a change committed while the append was in flight is not in the file
    // yet, and the next save must write it.
    this.written = pending.at(-1)!.version;
    this.historyLines += pending.length;
  }

  /** Rewrites the history file as the base config plus the retained versions. */
  private async compact(history: ConfigHistory): Promise<void> {
    const { version, config } = history.base;
    const lines = [JSON.stringify({ base: { version, config: toDocument(config) } })];
    // history.all() is the live list: what is written is what it holds now, before the write's await.
    for (const v of history.all()) lines.push(JSON.stringify(v));
    const written = history.latest;
    await writeFileAtomic(this.historyFile, `${lines.join('\n')}\n`);
    this.written = written;
    this.historyLines = lines.length;
  }
}
