// Keeps a PolicyEngine equal to POLICY_FILE: reads and validates it at start (a bad file is fatal), then
// polls its content (a WatchedFile) and applies a changed, valid set in one swap; a bad file is refused whole
// and the last good set stays in force. Counters of policies whose limit did not change survive a reload. Every
// applied set is a numbered version (SourceVersionLog, audited), recorded right after the swap.

import { dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SourceVersionLog } from '../observe/audit/config-audit.js';
import { ConfigError } from '../lib/config-error.js';
import { WatchedFile } from '../limits/watched-file.js';
import { PolicyEngine } from '../lib/policy/policy-engine.js';
import type { CompiledPolicy, CompiledPolicySet } from '../lib/policy/policy-set.js';
import { compilePolicySet, PolicySetError } from '../lib/policy/policy-set.js';

export type PolicyReloadResult = 'applied' | 'unchanged' | 'error';

export interface PolicyFileStatus {
  file: string;
  /** Policies in force (enabled or not). */
  policies: number;
  lastAppliedMs: number | undefined;
  lastError: { timeMs: number; message: string } | undefined;
}

/** Parses and compiles a policy document; the document is returned too, to compare limits on reload. */
function compile(text: string, baseDir: string): { set: CompiledPolicySet; doc: unknown } {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PolicySetError([{ path: '', message: `not valid YAML or JSON: ${(err as Error).message}` }]);
  }
  // List files named relative to the policy file are found next to it.
  return { set: compilePolicySet(doc, { baseDir }), doc };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * Each policy's effective `limit` (its own, else the nearest ancestor's through `extends`) as JSON. Two
 * policies with the same name and the same text keep counters with the same meaning, so they can share one.
 */
function limitTexts(doc: unknown): Map<string, string> {
  const byName = new Map<string, Record<string, unknown>>();
  const list = record(doc)?.['policies'];
  if (Array.isArray(list))
    for (const p of list) {
      const r = record(p);
      if (r !== undefined && typeof r['name'] === 'string') byName.set(r['name'], r);
    }
  const out = new Map<string, string>();
  for (const [name, policy] of byName) {
    let p: Record<string, unknown> | undefined = policy;
    // The set compiled, so `extends` chains end; the bound only guards against a surprise.
    for (let hops = 0; p !== undefined && p['limit'] === undefined && hops <= byName.size; hops++) {
      p = typeof p['extends'] === 'string' ? byName.get(p['extends']) : undefined;
    }
    if (p?.['limit'] !== undefined) out.set(name, JSON.stringify(p['limit']));
  }
  return out;
}

/** `next` with the limiters (and so the counters) of `prev` wherever a policy's limit is unchanged. */
function carryCounters(
  prev: CompiledPolicySet,
  prevDoc: unknown,
  next: CompiledPolicySet,
  nextDoc: unknown,
): CompiledPolicySet {
  const before = limitTexts(prevDoc);
  const after = limitTexts(nextDoc);
  const old = new Map(prev.policies.map((p) => [p.name, p]));
  const policies = next.policies.map((p): CompiledPolicy => {
    const o = old.get(p.name);
    if (o?.limiter === undefined || p.limiter === undefined) return p;
    const text = after.get(p.name);
    if (text === undefined || text !== before.get(p.name)) return p;
    return { ...p, limiter: o.limiter };
  });
  return { ...next, policies };
}

export class PolicyFile {
  /** Set by loadInitial(); every transport evaluates through this one engine. */
  engine: PolicyEngine | undefined;
  private goodDoc: unknown;
  private readonly watched: WatchedFile;
  private readonly state: PolicyFileStatus;
  /** Every applied set and every refusal, numbered; the audit log follows it. */
  readonly versions: SourceVersionLog;

  constructor(
    readonly file: string,
    private readonly onResult: (result: PolicyReloadResult, detail: string) => void,
    private readonly now: () => number = Date.now,
    /** Why a valid set still cannot be applied here (e.g. it names countries and no database gives them). */
    private readonly check: (set: CompiledPolicySet) => string | undefined = () => undefined,
  ) {
    this.state = { file, policies: 0, lastAppliedMs: undefined, lastError: undefined };
    this.versions = new SourceVersionLog('policy_file', file, now);
    this.watched = new WatchedFile(file, ([only]) => this.apply(only!.text), {
      label: 'policy file',
      isRefusal: (err) => err instanceof ConfigError,
      onResult: (result, detail, checksum, repeated) => {
        if (result === 'applied') {
          this.versions.record('applied', checksum, detail);
        } else if (!repeated) {
          // A file that stays unreadable is reported on every poll (it may be a mount that went away), but
          // recorded once.
          this.versions.record('error', checksum, detail);
        }
        this.onResult(result, detail);
      },
      now,
    });
  }

  get status(): Readonly<PolicyFileStatus> {
    const read = this.watched.status;
    this.state.lastError = read.lastError;
    return this.state;
  }

  /** Reads, validates and compiles the file; throws ConfigError naming the file and every problem. */
  async loadInitial(): Promise<PolicyEngine> {
    const { detail, checksum } = await this.watched.loadInitial();
    this.versions.record('applied', checksum, detail);
    return this.engine!;
  }

  /**
   * Re-reads the file now. A call during a read gets one more read after it, so it sees the file as it was
   * when called. Never throws.
   */
  reload(): Promise<PolicyReloadResult> {
    return this.watched.reload();
  }

  start(intervalMs: number): void {
    this.watched.start(intervalMs);
  }

  stop(): void {
    this.watched.stop();
  }

  /** The WatchedFile's parser: compiles `text` and swaps it in, or throws ConfigError naming the file. */
  private apply(text: string): string {
    let compiled: { set: CompiledPolicySet; doc: unknown };
    try {
      compiled = compile(text, dirname(this.file));
    } catch (err) {
      if (err instanceof PolicySetError) throw new ConfigError(this.file, '', err.message);
      throw err;
    }
    const problem = this.check(compiled.set);
    if (problem !== undefined) throw new ConfigError(this.file, '', problem);
    if (this.engine === undefined) {
      this.engine = new PolicyEngine(compiled.set);
    } else {
      const current = { policies: this.engine.policies, lists: [] };
      // One synchronous swap: a decision runs wholly before or wholly after it, never on a mix of two sets.
      this.engine.replace(carryCounters(current, this.goodDoc, compiled.set, compiled.doc));
    }
    this.goodDoc = compiled.doc;
    this.state.policies = compiled.set.policies.length;
    this.state.lastAppliedMs = this.now();
    return `${compiled.set.policies.length} policies`;
  }
}
