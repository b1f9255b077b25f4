// The per-tenant metric families (rls_decisions_total, rls_samples_total, rls_would_deny_total,
// rls_unchecked_requests_total, rls_tenant_bucket_tokens), kept as plain numbers in one row per tenant and
// rendered straight to exposition text. A scrape must never block the event loop for long: rendering builds
// no label objects and yields (setImmediate) every few milliseconds, so 10,000 tenants cost many short slices.

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { DecisionReason } from '../decision/decision.js';

/** Longest stretch one rendering slice may hold the event loop, in ms. */
export const RENDER_SLICE_MS = 2;

/** A tenant-labelled value not yet recorded is NaN: prom-client shows a series only once it has been set. */
const ABSENT = Number.NaN;

/** prom-client's label value escaping (backslash, newline, double quote), so the text stays byte-identical. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** prom-client's number formatting (lib/util.js getValueAsString). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/** One tenant's counters. Reasons are indexed by the family's reason table; NaN marks a series never set. */
class TenantRow {
  /** The tenant name as it appears between the quotes of a label. */
  readonly label: string;
  allowed = ABSENT;
  samplesAllowed = ABSENT;
  samplesDenied = ABSENT;
  unchecked = ABSENT;
  denied: Float64Array | undefined;
  wouldDeny: Float64Array | undefined;
  /** Bucket levels of the last scrape, written by the bucket report (NaN: not reported). */
  samplesTokens = ABSENT;
  requestTokens = ABSENT;

  constructor(readonly tenant: string) {
    this.label = escapeLabelValue(tenant);
  }
}

interface FamilyText {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labelNames: readonly string[];
}

function header(f: FamilyText): string {
  const help = f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return `# HELP ${f.name} ${help}\n# TYPE ${f.name} ${f.type}`;
}

/**
 * A family the registry renders by calling `render()` instead of formatting `get()` values (see EdgeRegistry).
 * It has the fields prom-client reads from a registered metric (name, help, type, get, reset).
 */
export interface TextFamily extends FamilyText {
  readonly aggregator: 'sum';
  render(): Promise<string>;
  /** What prom-client's getMetricsAsJSON() lists for a metric (its typings call `type` an enum; it is this string). */
  get(): Promise<FamilyJson>;
  reset(): void;
}

interface SeriesValue {
  labels: Record<string, string>;
  value: number;
}

export interface FamilyJson {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  aggregator: 'sum';
  values: SeriesValue[];
}

type LineWriter = (row: TenantRow, out: string[]) => void;

/** Every per-tenant number of the edge; cost per record: a Map lookup and an add. */
export class TenantSeries {
  private readonly rows = new Map<string, TenantRow>();
  private readonly reasonIndex = new Map<string, number>();
  private readonly reasonNames: string[] = [];
  private readonly reasonLabels: string[] = [];
  /** Set by the owner: fills the bucket levels of every tenant it reports, once per scrape. */
  reportBuckets:
    ((report: (tenant: string, type: 'samples' | 'requests', tokens: number) => void) => void) | undefined;

  constructor(reasons: readonly string[]) {
    for (const r of reasons) this.reasonSlot(r);
  }

  private reasonSlot(reason: string): number {
    let i = this.reasonIndex.get(reason);
    if (i === undefined) {
      i = this.reasonNames.length;
      this.reasonIndex.set(reason, i);
      this.reasonNames.push(reason);
      this.reasonLabels.push(escapeLabelValue(reason));
      // A reason first seen now (outside the table) widens every existing per-reason array on next use.
    }
    return i;
  }

  private row(tenant: string): TenantRow {
    let row = this.rows.get(tenant);
    if (row === undefined) {
      row = new TenantRow(tenant);
      this.rows.set(tenant, row);
    }
    return row;
  }

  private static add(current: number, n: number): number {
    return current !== current ? n : current + n;
  }

  private perReason(arr: Float64Array | undefined, reason: string, n: number): Float64Array {
    const i = this.reasonSlot(reason);
    if (arr === undefined || arr.length <= i) {
      const wider = new Float64Array(this.reasonNames.length).fill(ABSENT);
      if (arr !== undefined) wider.set(arr);
      arr = wider;
    }
    arr[i] = TenantSeries.add(arr[i]!, n);
    return arr;
  }

  recordAllowed(tenant: string, samples: number): void {
    const row = this.row(tenant);
    row.allowed = TenantSeries.add(row.allowed, 1);
    if (samples > 0) row.samplesAllowed = TenantSeries.add(row.samplesAllowed, samples);
  }

  recordDenied(tenant: string, reason: DecisionReason, samples: number): void {
    const row = this.row(tenant);
    row.denied = this.perReason(row.denied, reason, 1);
    if (samples > 0) row.samplesDenied = TenantSeries.add(row.samplesDenied, samples);
  }

  recordWouldDeny(tenant: string, reason: string, n = 1): void {
    const row = this.row(tenant);
    row.wouldDeny = this.perReason(row.wouldDeny, reason, n);
  }

  recordUnchecked(tenant: string, n = 1): void {
    const row = this.row(tenant);
    row.unchecked = TenantSeries.add(row.unchecked, n);
  }

  /** Drops every series of `tenant` (evicted by the label cap). */
  forget(tenant: string): void {
    this.rows.delete(tenant);
  }

  clear(): void {
    this.rows.clear();
  }

  get tenants(): number {
    return this.rows.size;
  }

  /** Reads the bucket levels into the rows: once per scrape, before rls_tenant_bucket_tokens is rendered. */
  private collectBuckets(): void {
    for (const row of this.rows.values()) {
      row.samplesTokens = ABSENT;
      row.requestTokens = ABSENT;
    }
    this.reportBuckets?.((tenant, type, tokens) => {
      // A tenant with a bucket but no recorded decision yet still gets its gauge.
      const row = this.row(tenant);
      if (type === 'samples') row.samplesTokens = tokens;
      else row.requestTokens = tokens;
    });
  }

  /** Renders of the families run one after another, so their slices share one budget (see render). */
  private renderChain: Promise<unknown> = Promise.resolve();
  /** When the running slice began: reset only after a yield, so back-to-back families cannot stack slices. */
  private sliceStart = 0;

  /** Yields to the event loop if the running slice has held it for RENDER_SLICE_MS. */
  private async maybeYield(): Promise<void> {
    if (performance.now() - this.sliceStart <= RENDER_SLICE_MS) return;
    await yieldToLoop();
    this.sliceStart = performance.now();
  }

  /**
   * Renders the lines `write` produces for every row, after the families queued before it. Registry.metrics()
   * starts every family in the same tick; rendered in parallel, each would take its own slice before the
   * first yield and the slices would add up. Rows added during a yield are rendered if the iteration
   * reaches them; rows removed are not.
   */
  private render(family: FamilyText, write: LineWriter, before?: () => void): Promise<string> {
    const run = async (): Promise<string> => {
      await this.maybeYield();
      before?.();
      const out: string[] = [header(family)];
      let n = 0;
      for (const row of this.rows.values()) {
        write(row, out);
        // performance.now() costs ~30 ns; checking every 64 rows keeps it out of the profile.
        if ((++n & 63) === 0 && performance.now() - this.sliceStart > RENDER_SLICE_MS)
          await this.maybeYield();
      }
      return out.join('\n');
    };
    const rendered = this.renderChain.then(run);
    this.renderChain = rendered.catch(() => undefined);
    return rendered;
  }

  /** The five families, each registered on the registry as its own metric. */
  families(): TextFamily[] {
    const reasonNames = this.reasonNames;
    const reasonLabels = this.reasonLabels;
    const writeDecisions: LineWriter = (row, out) => {
      if (row.allowed === row.allowed)
        out.push(
          `rls_decisions_total{decision="allow",tenant="${row.label}",reason="allowed"} ${formatValue(row.allowed)}`,
        );
      const denied = row.denied;
      if (denied === undefined) return;
      for (let i = 0; i < denied.length; i++) {
        const v = denied[i]!;
        if (v === v)
          out.push(
            `rls_decisions_total{decision="deny",tenant="${row.label}",reason="${reasonLabels[i]!}"} ${formatValue(v)}`,
          );
      }
    };
    const writeSamples: LineWriter = (row, out) => {
      if (row.samplesAllowed === row.samplesAllowed)
        out.push(
          `rls_samples_total{tenant="${row.label}",decision="allow"} ${formatValue(row.samplesAllowed)}`,
        );
      if (row.samplesDenied === row.samplesDenied)
        out.push(
          `rls_samples_total{tenant="${row.label}",decision="deny"} ${formatValue(row.samplesDenied)}`,
        );
    };
    const writeWouldDeny: LineWriter = (row, out) => {
      const w = row.wouldDeny;
      if (w === undefined) return;
      for (let i = 0; i < w.length; i++) {
        const v = w[i]!;
        if (v === v)
          out.push(
            `rls_would_deny_total{tenant="${row.label}",reason="${reasonLabels[i]!}"} ${formatValue(v)}`,
          );
      }
    };
    const writeUnchecked: LineWriter = (row, out) => {
      if (row.unchecked === row.unchecked)
        out.push(`rls_unchecked_requests_total{tenant="${row.label}"} ${formatValue(row.unchecked)}`);
    };
    const writeBuckets: LineWriter = (row, out) => {
      if (row.samplesTokens === row.samplesTokens)
        out.push(
          `rls_tenant_bucket_tokens{tenant="${row.label}",bucket_type="samples"} ${formatValue(row.samplesTokens)}`,
        );
      if (row.requestTokens === row.requestTokens)
        out.push(
          `rls_tenant_bucket_tokens{tenant="${row.label}",bucket_type="requests"} ${formatValue(row.requestTokens)}`,
        );
    };

    /** Label objects for getMetricsAsJSON() only; the scrape path never builds them. */
    const valuesOf = (
      pick: (row: TenantRow, push: (labels: Record<string, string>, value: number) => void) => void,
    ): SeriesValue[] => {
      const values: SeriesValue[] = [];
      for (const row of this.rows.values())
        pick(row, (labels, value) => {
          if (value === value) values.push({ labels, value });
        });
      return values;
    };
    const perReason = (
      arr: Float64Array | undefined,
      push: (labels: Record<string, string>, value: number) => void,
      labels: (reason: string) => Record<string, string>,
    ): void => {
      if (arr) for (let i = 0; i < arr.length; i++) push(labels(reasonNames[i]!), arr[i]!);
    };

    const family = (
      text: FamilyText,
      write: LineWriter,
      pick: Parameters<typeof valuesOf>[0],
      before?: () => void,
    ): TextFamily => ({
      ...text,
      aggregator: 'sum',
      render: () => this.render(text, write, before),
      get: () => {
        before?.();
        return Promise.resolve({
          name: text.name,
          help: text.help,
          type: text.type,
          aggregator: 'sum',
          values: valuesOf(pick),
        });
      },
      reset: () => this.clear(),
    });

    return [
      family(
        {
          name: 'rls_decisions_total',
          help: 'Enforcement decisions by tenant and reason (reason "allowed" for allows).',
          type: 'counter',
          labelNames: ['decision', 'tenant', 'reason'],
        },
        writeDecisions,
        (row, push) => {
          push({ decision: 'allow', tenant: row.tenant, reason: 'allowed' }, row.allowed);
          perReason(row.denied, push, (reason) => ({ decision: 'deny', tenant: row.tenant, reason }));
        },
      ),
      family(
        {
          name: 'rls_would_deny_total',
          help: 'Requests forwarded although a limit was exceeded, because that limit is only observed (dry run or enforcement off).',
          type: 'counter',
          labelNames: ['tenant', 'reason'],
        },
        writeWouldDeny,
        (row, push) => perReason(row.wouldDeny, push, (reason) => ({ tenant: row.tenant, reason })),
      ),
      family(
        {
          name: 'rls_unchecked_requests_total',
          help: 'Write requests forwarded without being measured or decided, because their enforcement mode is off.',
          type: 'counter',
          labelNames: ['tenant'],
        },
        writeUnchecked,
        (row, push) => push({ tenant: row.tenant }, row.unchecked),
      ),
      family(
        {
          name: 'rls_samples_total',
          help: 'Items counted against ingestion_rate (samples, histogram samples, exemplars, metadata) by tenant and decision.',
          type: 'counter',
          labelNames: ['tenant', 'decision'],
        },
        writeSamples,
        (row, push) => {
          push({ tenant: row.tenant, decision: 'allow' }, row.samplesAllowed);
          push({ tenant: row.tenant, decision: 'deny' }, row.samplesDenied);
        },
      ),
      family(
        {
          name: 'rls_tenant_bucket_tokens',
          help: 'Tokens left in a tenant bucket at scrape time (samples: ingestion_rate, requests: request_rate).',
          type: 'gauge',
          labelNames: ['tenant', 'bucket_type'],
        },
        writeBuckets,
        (row, push) => {
          push({ tenant: row.tenant, bucket_type: 'samples' }, row.samplesTokens);
          push({ tenant: row.tenant, bucket_type: 'requests' }, row.requestTokens);
        },
        () => this.collectBuckets(),
      ),
    ];
  }
}
