// The logic of the tenant limits editor, kept apart from React so it is unit tested: checks what the
// operator typed with the server's rules, and computes the diff shown before anything is applied.

export interface LimitDefinition {
  name: string;
  /** `label`: one label name; `labels`: a list of them (typed comma-separated); `duration`: "30s", "1m30s". */
  kind: 'float' | 'int' | 'enum' | 'label' | 'labels' | 'attributes' | 'duration';
  /** For `enum` limits: the accepted words; the limit holds the index of the chosen one. */
  values?: readonly string[] | null;
  default: LimitValue;
  zero_means: string | null;
  /** The largest value the server accepts (e.g. edge_priority's 10); null: no bound above. */
  max?: number | null;
  description: string;
}

/** What a limit holds: a number, a text (label name, duration) or a list of label names. */
export type LimitValue = number | string | readonly string[];

export interface LimitChange {
  name: string;
  before: LimitValue;
  after: LimitValue;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

/** A limit's value as the editor shows it: lists comma-separated. */
export function formatLimitValue(value: LimitValue | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return value.join(', ');
}

/** The value typed for one limit, or an error message naming the limit. */
export function parseLimitInput(def: LimitDefinition, text: string): LimitValue | { error: string } {
  const trimmed = text.trim();
  if (def.kind === 'labels') {
    // An empty list is a value (no label dropped); "-" types it, since an empty box means "unchanged".
    const names = trimmed === '-' ? [] : trimmed.split(',').map((n) => n.trim());
    const bad = names.find((n) => !LABEL_NAME.test(n));
    if (bad !== undefined)
      return { error: `${def.name}: "${bad}" is not a label name (comma-separated names, or - for none)` };
    return [...new Set(names)];
  }
  if (def.kind === 'attributes') {
    // OTel attribute names (dots allowed), comma-separated; "-" types an empty list.
    const names = trimmed === '-' ? [] : trimmed.split(',').map((n) => n.trim());
    if (names.some((n) => n === ''))
      return { error: `${def.name}: empty attribute name (comma-separated names, or - for none)` };
    return [...new Set(names)];
  }
  if (def.kind === 'label') {
    if (!LABEL_NAME.test(trimmed)) return { error: `${def.name}: "${trimmed}" is not a label name` };
    return trimmed;
  }
  if (def.kind === 'duration') {
    if (!DURATION.test(trimmed)) return { error: `${def.name}: enter a duration such as 30s or 1m30s` };
    return trimmed;
  }
  if (trimmed === '') return { error: `${def.name}: enter a number` };
  if (def.kind === 'enum') {
    const values = def.values ?? [];
    const word = values.indexOf(trimmed);
    const index = word >= 0 ? word : Number(trimmed);
    if (Number.isInteger(index) && index >= 0 && index < values.length) return index;
    return { error: `${def.name}: must be one of ${values.join(', ')}` };
  }
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return { error: `${def.name}: "${trimmed}" is not a number` };
  if (value < 0) return { error: `${def.name}: must be 0 or more` };
  if (def.kind === 'int' && !Number.isInteger(value)) return { error: `${def.name}: must be a whole number` };
  if (def.max != null && value > def.max) return { error: `${def.name}: must be at most ${def.max}` };
  return value;
}

/**
 * Compares the typed values with the current limits. Returns the changes (only limits whose value
 * differs) and every input error; nothing may be sent while `errors` is not empty.
 */
export function diffLimits(
  definitions: readonly LimitDefinition[],
  current: Readonly<Record<string, LimitValue>>,
  typed: Readonly<Record<string, string>>,
): { changes: LimitChange[]; errors: string[] } {
  const changes: LimitChange[] = [];
  const errors: string[] = [];
  for (const def of definitions) {
    const text = typed[def.name];
    if (text === undefined) continue;
    const parsed = parseLimitInput(def, text);
    if (typeof parsed === 'object' && 'error' in parsed) {
      errors.push(parsed.error);
      continue;
    }
    const before = current[def.name];
    if (before !== undefined && JSON.stringify(before) !== JSON.stringify(parsed))
      changes.push({ name: def.name, before, after: parsed });
  }
  return { changes, errors };
}

/** How a change reads in the confirmation: "ingestion_rate 10000 → 100 (-99%)". */
export function describeChange(c: LimitChange, values?: readonly string[] | null): string {
  // Choice limits hold an index; the operator reads and types their names (error, truncate, drop).
  if (values && typeof c.before === 'number' && typeof c.after === 'number')
    return `${c.name} ${values[c.before] ?? c.before} → ${values[c.after] ?? c.after}`;
  if (typeof c.before !== 'number' || typeof c.after !== 'number')
    return `${c.name} ${formatLimitValue(c.before) || '(none)'} → ${formatLimitValue(c.after) || '(none)'}`;
  const pct =
    c.before > 0
      ? ` (${c.after >= c.before ? '+' : ''}${Math.round(((c.after - c.before) / c.before) * 100)}%)`
      : '';
  return `${c.name} ${c.before} → ${c.after}${pct}`;
}

/** Enforcement switches that differ between `current` and `next`, as text for the confirmation. */
export function diffSwitches(
  current: { enabled: boolean; limits: Readonly<Record<string, boolean>> },
  next: { enabled: boolean; limits: Readonly<Record<string, boolean>> },
): string[] {
  const out: string[] = [];
  const word = (on: boolean) => (on ? 'enforced' : 'observed only');
  if (current.enabled !== next.enabled) out.push(`tenant: ${word(current.enabled)} → ${word(next.enabled)}`);
  for (const [name, on] of Object.entries(next.limits)) {
    if ((current.limits[name] ?? true) !== on)
      out.push(`${name}: ${word(current.limits[name] ?? true)} → ${word(on)}`);
  }
  return out;
}
