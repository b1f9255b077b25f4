// Decision agreement with the upstream: for each write the edge forwarded, its own decision (allowed, or a denial
// only observed in dry-run or with a limit's enforcement off) is compared with what the upstream (Mimir) answered.
// Before switching enforcement on, an operator sees on their own traffic how often the edge would have refused
// what Mimir accepts (edge_stricter) or let through what Mimir refuses (edge_looser), and why.
//
// The comparison runs when the upstream answers, never on the hot path. Labels and memory are bounded: the reason
// is one of the catalogue's (or `not_checked`), never text from the upstream; tenants are the tracked names of the
// metrics; the upstream's text is kept only as a short, sanitised sample in a few fixed-size rings.

import type { Decision, DecisionReason } from '../decision/decision.js';
import { REASONS } from '../decision/catalogue.js';

export type AgreementOutcome = 'agree' | 'edge_stricter' | 'edge_looser';
export const AGREEMENT_OUTCOMES: readonly AgreementOutcome[] = ['agree', 'edge_stricter', 'edge_looser'];

/** The reason of an upstream refusal whose error id the edge's catalogue does not hold: a rule the edge does not check. */
export const NOT_CHECKED = 'not_checked';

export type AgreementReason = DecisionReason | typeof NOT_CHECKED;

/** Characters of the upstream's answer kept in a disagreement sample. */
export const UPSTREAM_TEXT_SHOWN = 240;
/** Bytes of a 4xx answer's body read for its error id and sample (the body itself is relayed whole). */
export const UPSTREAM_BODY_PEEK = 1024;

const ERROR_ID = /err-mimir-[a-z0-9]+(?:-[a-z0-9]+)*/;

/** Catalogue reason by error id (Mimir's ids and the edge's), built once. */
const REASON_BY_ERROR_ID: ReadonlyMap<string, DecisionReason> = new Map(
  (Object.keys(REASONS) as (keyof typeof REASONS)[]).map((r) => [REASONS[r].errorId, r]),
);

/** Mimir's OTLP handler words a value too long in OTel terms, without the id (pkg/distributor/otel.go). */
const OTLP_VALUE_TOO_LONG = 'received a metric whose attribute value length of ';

/** The first `err-mimir-*` id in the upstream's text, or '' (at most 100 characters: it may be logged and shown). */
export function upstreamErrorId(text: string): string {
  const m = ERROR_ID.exec(text);
  if (m !== null) return m[0].length <= 100 ? m[0] : '';
  return text.includes(OTLP_VALUE_TOO_LONG) ? REASONS.max_label_value_length.errorId : '';
}

/**
 * The upstream's text as it may be shown: at most UPSTREAM_TEXT_SHOWN characters, control characters and
 * undecodable bytes replaced, so a sample is one line of plain text whatever the upstream sent.
 */
export function sanitiseUpstreamText(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]+/g, ' ').trim();
  return clean.length > UPSTREAM_TEXT_SHOWN ? `${clean.slice(0, UPSTREAM_TEXT_SHOWN)}…` : clean;
}

/** Statuses with which Mimir refuses the data of a write (a 5xx or an auth answer says nothing about it). */
function isRefusal(status: number): boolean {
  return status === 400 || status === 413 || status === 415 || status === 422 || status === 429;
}

/**
 * How the edge's decision on a forwarded write compares with the upstream's answer, or undefined when the
 * answer is no verdict on the write (5xx, 401/403/404 from a gateway, a part forwarded by partial acceptance).
 * - upstream 2xx: agree when the edge allowed; edge_stricter (the edge's reason) when it only observed a denial.
 *   Mimir's 202 is its HA deduplication: agree with an edge that observed ha_deduplicated.
 * - upstream refusal (400, 413, 415, 422, 429): agree (the edge's reason) when the edge also refused;
 *   edge_looser when the edge allowed, with the catalogue reason of the upstream's error id, or not_checked.
 */
export function classifyAgreement(
  decision: Decision,
  status: number,
  errorId: string,
): { outcome: AgreementOutcome; reason: AgreementReason } | undefined {
  if (decision.partial !== undefined) return undefined;
  const refusedByEdge = decision.wouldDeny;
  if (status >= 200 && status < 300) {
    if (status === 202) {
      if (decision.reason === 'ha_deduplicated') return { outcome: 'agree', reason: 'ha_deduplicated' };
      if (!refusedByEdge) return { outcome: 'edge_looser', reason: 'ha_deduplicated' };
    }
    return refusedByEdge
      ? { outcome: 'edge_stricter', reason: decision.reason }
      : { outcome: 'agree', reason: 'allowed' };
  }
  if (!isRefusal(status)) return undefined;
  if (refusedByEdge) return { outcome: 'agree', reason: decision.reason };
  return { outcome: 'edge_looser', reason: REASON_BY_ERROR_ID.get(errorId) ?? NOT_CHECKED };
}

/** One disagreement, as the admin API shows it. */
export interface Disagreement {
  at: string;
  tenant: string;
  outcome: Exclude<AgreementOutcome, 'agree'>;
  reason: AgreementReason;
  edge: { decision: 'allow' | 'would_deny'; reason: DecisionReason; status: number };
  upstream: { status: number; error_id: string; text: string };
}

/** Fixed-size ring: the last `size` items, oldest first. */
class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;
  constructor(private readonly size: number) {}
  push(item: T): void {
    if (this.items.length < this.size) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.size;
  }
  list(): T[] {
    return this.items.length < this.size
      ? [...this.items]
      : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}

class TenantAgreement {
  agree = 0;
  edgeStricter = 0;
  edgeLooser = 0;
  /** Counts by `outcome reason`: bounded by 3 outcomes × the catalogue's reasons. */
  readonly byReason = new Map<string, number>();
  readonly recent: Ring<Disagreement>;
  constructor(samples: number) {
    this.recent = new Ring(samples);
  }
}

export interface AgreementCounter {
  inc(outcome: AgreementOutcome, reason: AgreementReason): void;
}

export interface AgreementOptions {
  /** rls_upstream_agreement_total. */
  counter: AgreementCounter;
  /** The bounded name a tenant is counted under (TrafficStats.trackedName). */
  nameOf: (tenant: string) => string;
  now: () => number;
  /** Most tenants kept; the oldest is forgotten past it. */
  maxTenants?: number;
  /** Disagreements kept per tenant, and for all tenants together. */
  samplesPerTenant?: number;
  recentMax?: number;
}

export interface TenantAgreementJson {
  agree: number;
  edge_stricter: number;
  edge_looser: number;
  /** agree / all compared; null before any write was compared. */
  agreement: number | null;
  by_reason: { outcome: AgreementOutcome; reason: string; count: number }[];
  recent_disagreements: Disagreement[];
}

export class UpstreamAgreement {
  private readonly tenants = new Map<string, TenantAgreement>();
  private readonly recent: Ring<Disagreement>;
  private readonly totals = { agree: 0, edge_stricter: 0, edge_looser: 0 };
  private readonly maxTenants: number;
  private readonly samplesPerTenant: number;

  constructor(private readonly options: AgreementOptions) {
    this.maxTenants = options.maxTenants ?? 10_000;
    this.samplesPerTenant = options.samplesPerTenant ?? 5;
    this.recent = new Ring(options.recentMax ?? 50);
  }

  /** Records the upstream's answer to a write the edge decided: `text` is the start of its body (4xx), or ''. */
  record(tenant: string, decision: Decision, status: number, text: string): void {
    const errorId = text === '' ? '' : upstreamErrorId(text);
    const verdict = classifyAgreement(decision, status, errorId);
    if (verdict === undefined) return;
    const { outcome, reason } = verdict;
    this.options.counter.inc(outcome, reason);
    const name = this.options.nameOf(tenant);
    const row = this.row(name);
    const key = `${outcome} ${reason}`;
    row.byReason.set(key, (row.byReason.get(key) ?? 0) + 1);
    if (outcome === 'agree') {
      row.agree++;
      this.totals.agree++;
      return;
    }
    if (outcome === 'edge_stricter') {
      row.edgeStricter++;
      this.totals.edge_stricter++;
    } else {
      row.edgeLooser++;
      this.totals.edge_looser++;
    }
    const sample: Disagreement = {
      at: new Date(this.options.now()).toISOString(),
      tenant: name,
      outcome,
      reason,
      edge: {
        decision: decision.wouldDeny ? 'would_deny' : 'allow',
        reason: decision.reason,
        status: decision.wouldDeny ? REASONS[decision.reason as keyof typeof REASONS].status : 200,
      },
      upstream: { status, error_id: errorId, text: sanitiseUpstreamText(text) },
    };
    row.recent.push(sample);
    this.recent.push(sample);
  }

  /** A tenant's counts and its last disagreements; undefined when none of its writes was compared. */
  tenant(name: string): TenantAgreementJson | undefined {
    const row = this.tenants.get(name);
    return row === undefined ? undefined : tenantJson(row);
  }

  json(): {
    totals: { agree: number; edge_stricter: number; edge_looser: number; agreement: number | null };
    tenants: (TenantAgreementJson & { tenant: string })[];
    recent_disagreements: Disagreement[];
  } {
    const t = this.totals;
    const all = t.agree + t.edge_stricter + t.edge_looser;
    return {
      totals: { ...t, agreement: all === 0 ? null : t.agree / all },
      tenants: [...this.tenants].map(([tenant, row]) => ({ tenant, ...tenantJson(row) })),
      recent_disagreements: this.recent.list().reverse(),
    };
  }

  private row(name: string): TenantAgreement {
    let row = this.tenants.get(name);
    if (row === undefined) {
      if (this.tenants.size >= this.maxTenants) {
        const oldest = this.tenants.keys().next().value;
        if (oldest !== undefined) this.tenants.delete(oldest);
      }
      row = new TenantAgreement(this.samplesPerTenant);
      this.tenants.set(name, row);
    }
    return row;
  }
}

function tenantJson(row: TenantAgreement): TenantAgreementJson {
  const all = row.agree + row.edgeStricter + row.edgeLooser;
  return {
    agree: row.agree,
    edge_stricter: row.edgeStricter,
    edge_looser: row.edgeLooser,
    agreement: all === 0 ? null : row.agree / all,
    by_reason: [...row.byReason].map(([key, count]) => {
      const space = key.indexOf(' ');
      return { outcome: key.slice(0, space) as AgreementOutcome, reason: key.slice(space + 1), count };
    }),
    recent_disagreements: row.recent.list().reverse(),
  };
}
