// Agreement with the upstream: for each write the edge forwarded, its decision against what the upstream (Mimir)
// answered. Before switching enforcement on, an operator reads here how often the edge would refuse what Mimir
// accepts (edge stricter) or lets through what Mimir refuses (edge looser), per tenant and reason, with the
// upstream's own words for the last disagreements. The tenant page shows the same panel for one tenant.
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { formatNumber } from '../logic/format.js';
import { Link } from '../router.js';
import { usePoll } from '../session.js';

export interface Disagreement {
  at: string;
  tenant: string;
  outcome: 'edge_stricter' | 'edge_looser';
  reason: string;
  edge: { decision: 'allow' | 'would_deny'; reason: string; status: number };
  upstream: { status: number; error_id: string; text: string };
}

export interface TenantAgreement {
  agree: number;
  edge_stricter: number;
  edge_looser: number;
  agreement: number | null;
  by_reason: { outcome: string; reason: string; count: number }[];
  recent_disagreements: Disagreement[];
}

interface AgreementReport {
  mode: string;
  totals: { agree: number; edge_stricter: number; edge_looser: number; agreement: number | null };
  tenants: (TenantAgreement & { tenant: string })[];
  recent_disagreements: Disagreement[];
}

const OUTCOME_TEXT: Record<string, string> = {
  agree: 'agree',
  edge_stricter: 'edge stricter',
  edge_looser: 'edge looser',
};

function percent(ratio: number | null): string {
  return ratio === null ? '–' : `${formatNumber(ratio * 100)} %`;
}

/** The last disagreements: what the edge decided, what the upstream answered, in its own words. */
export function DisagreementsTable({ rows, showTenant }: { rows: Disagreement[]; showTenant: boolean }) {
  if (rows.length === 0) return <Empty>No disagreement recorded.</Empty>;
  return (
    <div className="table-wrap">
      <table data-testid="disagreements">
        <thead>
          <tr>
            <th>When</th>
            {showTenant && <th>Tenant</th>}
            <th>Outcome</th>
            <th>Reason</th>
            <th>Edge</th>
            <th>Upstream</th>
            <th>Upstream said</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d, i) => (
            <tr key={`${d.at}-${i}`}>
              <td>{new Date(d.at).toLocaleTimeString()}</td>
              {showTenant && (
                <td>
                  <Link to={`/tenants/${encodeURIComponent(d.tenant)}`}>{d.tenant}</Link>
                </td>
              )}
              <td>
                <span className="flag">{OUTCOME_TEXT[d.outcome] ?? d.outcome}</span>
              </td>
              <td>{d.reason}</td>
              <td>
                {d.edge.decision === 'allow' ? 'allowed' : `would deny ${d.edge.status} (${d.edge.reason})`}
              </td>
              <td>
                {d.upstream.status}
                {d.upstream.error_id && ` ${d.upstream.error_id}`}
              </td>
              <td className="upstream-text">{d.upstream.text || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One tenant's agreement, for its detail page; nothing when none of its writes was compared yet. */
export function TenantAgreementPanel({ agreement }: { agreement: TenantAgreement | null | undefined }) {
  if (!agreement) return null;
  return (
    <section className="card" data-testid="tenant-agreement">
      <h3>Agreement with the upstream</h3>
      <p className="hint">
        Forwarded writes compared with the upstream&apos;s answer: {formatNumber(agreement.agree)} agree,{' '}
        {formatNumber(agreement.edge_stricter)} edge stricter, {formatNumber(agreement.edge_looser)} edge
        looser ({percent(agreement.agreement)} agreement).
      </p>
      <DisagreementsTable rows={agreement.recent_disagreements} showTenant={false} />
    </section>
  );
}

export function AgreementPage() {
  const { data, error } = usePoll<AgreementReport>('/api/agreement', 5000);
  return (
    <div className="page">
      <header className="page-head">
        <h2>Agreement with the upstream</h2>
      </header>
      <p className="hint">
        Each write the edge forwards (every write in dry-run) is compared with what the upstream answered.
        Edge stricter: the edge would refuse what the upstream accepted. Edge looser: the upstream refused
        what the edge let through (not_checked: for a rule the edge does not check). Counted since the process
        started.
      </p>
      {error && <ErrorBox message={error} />}
      {!data ? (
        !error && <Loading what="agreement" />
      ) : (
        <>
          <p data-testid="agreement-totals">
            Mode {data.mode}: {formatNumber(data.totals.agree)} agree,{' '}
            {formatNumber(data.totals.edge_stricter)} edge stricter, {formatNumber(data.totals.edge_looser)}{' '}
            edge looser ({percent(data.totals.agreement)} agreement).
          </p>
          {data.tenants.length === 0 ? (
            <Empty>No forwarded write compared yet.</Empty>
          ) : (
            <div className="table-wrap">
              <table data-testid="agreement-tenants">
                <thead>
                  <tr>
                    <th>Tenant</th>
                    <th>Agree</th>
                    <th>Edge stricter</th>
                    <th>Edge looser</th>
                    <th>Agreement</th>
                    <th>Disagreements by reason</th>
                  </tr>
                </thead>
                <tbody>
                  {data.tenants.map((t) => (
                    <tr key={t.tenant}>
                      <td>
                        <Link to={`/tenants/${encodeURIComponent(t.tenant)}`}>{t.tenant}</Link>
                      </td>
                      <td>{formatNumber(t.agree)}</td>
                      <td>{formatNumber(t.edge_stricter)}</td>
                      <td>{formatNumber(t.edge_looser)}</td>
                      <td>{percent(t.agreement)}</td>
                      <td>
                        {t.by_reason
                          .filter((r) => r.outcome !== 'agree')
                          .map((r) => (
                            <span key={`${r.outcome} ${r.reason}`} className="reason">
                              {OUTCOME_TEXT[r.outcome] ?? r.outcome} {r.reason}: {formatNumber(r.count)}
                            </span>
                          ))}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h3>Last disagreements</h3>
          <DisagreementsTable rows={data.recent_disagreements} showTenant={true} />
        </>
      )}
    </div>
  );
}
