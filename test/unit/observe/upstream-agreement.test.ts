// Decision agreement with the upstream: how each forwarded write's decision is classified against the
// upstream's answer, and that what is kept (labels, tenants, samples, text) stays bounded whatever the upstream says.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALLOWED, REASONS, denial, observedOnly } from '../../../src/decision/catalogue.js';
import type { Decision } from '../../../src/decision/decision.js';
import {
  NOT_CHECKED,
  UPSTREAM_TEXT_SHOWN,
  UpstreamAgreement,
  classifyAgreement,
  sanitiseUpstreamText,
  upstreamErrorId,
} from '../../../src/observe/upstream-agreement.js';

const wouldDeny = (reason: Parameters<typeof denial>[0]): Decision => observedOnly(denial(reason, 'm', 1, 2));
const LABELS_400 =
  "received a series whose number of labels exceeds the limit (actual: 31, limit: 30) series: 'up{…}' (err-mimir-max-label-names-per-series). To adjust …";

function tracker(options: { maxTenants?: number } = {}) {
  const counted: string[] = [];
  const a = new UpstreamAgreement({
    counter: { inc: (o, r) => counted.push(`${o} ${r}`) },
    nameOf: (t) => t,
    now: () => Date.UTC(2026, 0, 1),
    samplesPerTenant: 3,
    recentMax: 4,
    ...options,
  });
  return { a, counted };
}

describe('classifyAgreement', () => {
  it('edge allowed, upstream 2xx: agree', () => {
    expect(classifyAgreement(ALLOWED, 200, '')).toEqual({ outcome: 'agree', reason: 'allowed' });
    expect(classifyAgreement(ALLOWED, 204, '')).toEqual({ outcome: 'agree', reason: 'allowed' });
  });

  it('edge would deny (dry-run), upstream accepts: edge_stricter with the edge reason', () => {
    expect(classifyAgreement(wouldDeny('ingestion_rate'), 200, '')).toEqual({
      outcome: 'edge_stricter',
      reason: 'ingestion_rate',
    });
  });

  it('edge would deny, upstream refuses too: agree with the edge reason', () => {
    expect(
      classifyAgreement(wouldDeny('max_label_names_per_series'), 400, 'err-mimir-max-label-names-per-series'),
    ).toEqual({ outcome: 'agree', reason: 'max_label_names_per_series' });
    expect(classifyAgreement(wouldDeny('ingestion_rate'), 429, '')).toEqual({
      outcome: 'agree',
      reason: 'ingestion_rate',
    });
  });

  it('edge allowed, upstream refuses: edge_looser with the reason its error id names in the catalogue', () => {
    expect(classifyAgreement(ALLOWED, 400, 'err-mimir-max-label-names-per-series')).toEqual({
      outcome: 'edge_looser',
      reason: 'max_label_names_per_series',
    });
    expect(classifyAgreement(ALLOWED, 429, 'err-mimir-tenant-max-ingestion-rate')).toEqual({
      outcome: 'edge_looser',
      reason: 'ingestion_rate',
    });
  });

  it('an upstream id the edge does not check, or no id (a plain Prometheus): not_checked', () => {
    expect(classifyAgreement(ALLOWED, 400, 'err-mimir-sample-out-of-order')).toEqual({
      outcome: 'edge_looser',
      reason: NOT_CHECKED,
    });
    expect(classifyAgreement(ALLOWED, 400, '')).toEqual({ outcome: 'edge_looser', reason: NOT_CHECKED });
  });

  it("Mimir's 202 is HA deduplication: agree with an observed ha_deduplicated, edge_looser for an allowed write", () => {
    expect(classifyAgreement(wouldDeny('ha_deduplicated'), 202, '')).toEqual({
      outcome: 'agree',
      reason: 'ha_deduplicated',
    });
    expect(classifyAgreement(ALLOWED, 202, '')).toEqual({
      outcome: 'edge_looser',
      reason: 'ha_deduplicated',
    });
  });

  it('no verdict on the write: 5xx, 401/403/404 from a gateway, 499, and parts forwarded by partial acceptance', () => {
    for (const status of [500, 502, 503, 504, 401, 403, 404, 499])
      expect(classifyAgreement(ALLOWED, status, ''), String(status)).toBeUndefined();
    const partial: Decision = { ...ALLOWED, partial: { body: new Uint8Array(1) } };
    expect(classifyAgreement(partial, 200, '')).toBeUndefined();
  });

  it('every catalogue id maps back to its reason', () => {
    for (const [reason, info] of Object.entries(REASONS))
      expect(classifyAgreement(ALLOWED, 400, info.errorId)?.reason, reason).toBe(reason);
  });
});

describe("the upstream's text", () => {
  it("finds Mimir's error id in its message", () => {
    expect(upstreamErrorId(LABELS_400)).toBe('err-mimir-max-label-names-per-series');
    expect(upstreamErrorId('out of order sample')).toBe('');
    // Mimir's OTLP wording of a value too long quotes no id (pkg/distributor/otel.go otelAttributeValueTooLongError).
    expect(
      upstreamErrorId(
        "received a metric whose attribute value length of 10 exceeds the limit of 9, attribute: 'too_long', value: 'huge value' (truncated) metric: 'foo{too_long=\"huge value\"}'. See: https://grafana.com/docs/grafana-cloud/send-data/otlp/otlp-format-considerations/#metrics-ingestion-limits",
      ),
    ).toBe('err-mimir-label-value-too-long');
  });

  it('keeps a one-line sample of at most 240 characters, without control characters', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000, unit: 'binary' }), (text) => {
        const s = sanitiseUpstreamText(text);
        expect(s.length).toBeLessThanOrEqual(UPSTREAM_TEXT_SHOWN + 1);
        // eslint-disable-next-line no-control-regex
        expect(s).not.toMatch(/[\u0000-\u001f\u007f]/);
      }),
    );
    expect(sanitiseUpstreamText('bad\nline\r\x00here')).toBe('bad line here');
  });
});

describe('UpstreamAgreement', () => {
  it('counts per tenant and reason, and keeps the disagreements with the upstream text', () => {
    const { a, counted } = tracker();
    a.record('team-a', ALLOWED, 200, '');
    a.record('team-a', ALLOWED, 400, LABELS_400);
    a.record('team-a', wouldDeny('ingestion_rate'), 200, '');
    expect(counted).toEqual([
      'agree allowed',
      'edge_looser max_label_names_per_series',
      'edge_stricter ingestion_rate',
    ]);
    const t = a.tenant('team-a')!;
    expect(t).toMatchObject({ agree: 1, edge_stricter: 1, edge_looser: 1 });
    expect(t.agreement).toBeCloseTo(1 / 3);
    expect(t.recent_disagreements[0]).toMatchObject({
      outcome: 'edge_stricter',
      edge: { decision: 'would_deny', reason: 'ingestion_rate', status: 429 },
      upstream: { status: 200, error_id: '', text: '' },
    });
    expect(t.recent_disagreements[1]).toMatchObject({
      outcome: 'edge_looser',
      reason: 'max_label_names_per_series',
      edge: { decision: 'allow', reason: 'allowed', status: 200 },
      upstream: { status: 400, error_id: 'err-mimir-max-label-names-per-series' },
    });
    expect(t.recent_disagreements[1]!.upstream.text).toContain('exceeds the limit');
    expect(a.json().totals).toMatchObject({ agree: 1, edge_stricter: 1, edge_looser: 1 });
    expect(a.tenant('team-b')).toBeUndefined();
  });

  it('stays bounded: labels from the catalogue only, tenants and samples capped, whatever the upstream says', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            tenant: fc.string({ minLength: 1, maxLength: 5 }),
            status: fc.constantFrom(200, 202, 400, 413, 429, 500),
            text: fc.string({ maxLength: 400 }),
            deny: fc.boolean(),
          }),
          { maxLength: 200 },
        ),
        (answers) => {
          const { a, counted } = tracker({ maxTenants: 5 });
          for (const x of answers)
            a.record(x.tenant, x.deny ? wouldDeny('max_series_per_request') : ALLOWED, x.status, x.text);
          const reasons = new Set([...Object.keys(REASONS), 'allowed', NOT_CHECKED]);
          for (const c of counted) expect(reasons.has(c.split(' ')[1]!)).toBe(true);
          const json = a.json();
          expect(json.tenants.length).toBeLessThanOrEqual(5);
          expect(json.recent_disagreements.length).toBeLessThanOrEqual(4);
          for (const t of json.tenants) expect(t.recent_disagreements.length).toBeLessThanOrEqual(3);
          for (const d of json.recent_disagreements)
            expect(d.upstream.text.length).toBeLessThanOrEqual(UPSTREAM_TEXT_SHOWN + 1);
        },
      ),
    );
  });

  it('lists the newest disagreement first', () => {
    const { a } = tracker();
    for (let i = 0; i < 6; i++) a.record('t', ALLOWED, 400, `number ${i}`);
    expect(a.json().recent_disagreements.map((d) => d.upstream.text)).toEqual([
      'number 5',
      'number 4',
      'number 3',
      'number 2',
    ]);
  });
});
