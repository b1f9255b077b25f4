// The logic of the tenant limits editor, kept apart from React so it is unit tested: checks what the
// operator typed with the server's rules, and computes the diff shown before anything is applied.

export interface LimitDefinition {
  name: string;
  kind: 'float' | 'int' | 'enum';
  /** For `enum` limits: the accepted words; the limit holds the index of the chosen one. */
  values?: readonly string[] | null;
  default: number;
  zero_means: string | null;
  description: string;
}

export interface LimitChange {
  name: string;
  before: number;
  after: number;
}

/** The value typed for one limit: a number, or an error message naming the limit. */
export function parseLimitInput(def: LimitDefinition, text: string): number | { error: string } {
  const trimmed = text.trim();
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
  return value;
}

/**
 * Compares the typed values with the current limits. Returns the changes (only limits whose value
 * differs) and every input error; nothing may be sent while `errors` is not empty.
 */
export function diffLimits(
  definitions: readonly LimitDefinition[],
  current: Readonly<Record<string, number>>,
  typed: Readonly<Record<string, string>>,
): { changes: LimitChange[]; errors: string[] } {
  const changes: LimitChange[] = [];
  const errors: string[] = [];
  for (const def of definitions) {
    const text = typed[def.name];
    if (text === undefined) continue;
    const parsed = parseLimitInput(def, text);
    if (typeof parsed !== 'number') {
      errors.push(parsed.error);
      continue;
    }
    const before = current[def.name];
    if (before !== undefined && before !== parsed) changes.push({ name: def.name, before, after: parsed });
  }
  return { changes, errors };
}

/** How a change reads in the confirmation: "ingestion_rate 10000 → 100 (-99%)". */
export function describeChange(c: LimitChange): string {
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
