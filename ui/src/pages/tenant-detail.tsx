// Tenant detail: charts over the chosen range (with the tenant's ingestion_rate as a line), accepted and
// rejected samples/s, headroom and time to the limit, effective limits with their units and sources, and
// (operator or admin) editing of limits and enforcement switches, always through a confirmation that shows
// the diff and asks why (the reason goes to the audit log). A tenant never seen and not configured says so.
import { useState } from 'react';
import { ApiError } from '../api.js';
import type { Flow, Tenant } from '../api.js';
import { ActiveSeriesCard } from '../components/active-series-card.js';
import { FlowCharts } from '../components/flow-charts.js';
import { RangePicker } from '../components/range-picker.js';
import { ErrorBox, Loading, OutcomeLine } from '../components/states.js';
import type { Outcome } from '../components/states.js';
import { BurstBadge } from '../components/burst-badge.js';
import { UtilBar } from '../components/util-bar.js';
import { formatLimitNumber, formatNumber, formatTime } from '../logic/format.js';
import {
  headroom,
  headroomText,
  minutesText,
  minutesToLimit,
  retriesClimbing,
  retryStorm,
  unknownTenant,
} from '../logic/tenant-figures.js';
import { useRange } from '../router.js';
import { describeChange, diffLimits, diffSwitches, formatLimitValue } from '../logic/limit-edits.js';
import type { LimitChange, LimitDefinition } from '../logic/limit-edits.js';
import { canEdit, usePoll, useSession } from '../session.js';
import { TenantAgreementPanel } from './agreement.js';
import type { TenantAgreement } from './agreement.js';

const SOURCE_TEXT = { default: 'default', overrides_file: 'overrides file', runtime: 'set here (runtime)' };

interface Pending {
  kind: 'limits' | 'enforcement';
  lines: string[];
  apply: (reason: string) => Promise<void>;
}

export function TenantDetailPage({ id }: { id: string }) {
  const { api, role } = useSession();
  const editable = canEdit(role);
  const [range, setRange] = useRange();
  const tenant = usePoll<Tenant>(`/api/tenants/${encodeURIComponent(id)}?range=${range}`, 3000);
  const flow = usePoll<Flow>(`/api/timeseries/${range}/flow?tenant=${encodeURIComponent(id)}`, 3000);
  const defs = usePoll<{ definitions: LimitDefinition[] }>('/api/limits', 0);
  const [typed, setTyped] = useState<Record<string, string>>({});
  const [switches, setSwitches] = useState<{ enabled: boolean; limits: Record<string, boolean> } | null>(
    null,
  );
  const [pending, setPending] = useState<Pending | null>(null);
  const [message, setMessage] = useState<Outcome | null>(null);
  const [reason, setReason] = useState('');
  const [configureAnyway, setConfigureAnyway] = useState(false);

  const t = tenant.data;
  const definitions = defs.data?.definitions ?? [];
  const { changes, errors } = t ? diffLimits(definitions, t.limits, typed) : { changes: [], errors: [] };

  const fail = (e: unknown) =>
    setMessage({ ok: false, text: e instanceof ApiError && e.path ? `${e.message}` : (e as Error).message });

  const reviewLimits = () => {
    if (errors.length > 0 || changes.length === 0) return;
    const body = Object.fromEntries(changes.map((c: LimitChange) => [c.name, c.after]));
    setPending({
      kind: 'limits',
      lines: changes.map((c) => describeChange(c, definitions.find((d) => d.name === c.name)?.values)),
      apply: async (why) => {
        await api.put(`/api/tenants/${encodeURIComponent(id)}/limits`, { limits: body, reason: why });
        setTyped({});
        setMessage({ ok: true, text: `Limits of ${id} changed; the proxy enforces them now.` });
      },
    });
  };

  const reviewSwitches = () => {
    if (!t || !switches) return;
    const current = { enabled: t.enforcement.tenant_enabled, limits: t.enforcement.limits };
    const lines = diffSwitches(current, switches);
    if (lines.length === 0) return;
    setPending({
      kind: 'enforcement',
      lines,
      apply: async (why) => {
        await api.post(`/api/tenants/${encodeURIComponent(id)}/enforcement`, { ...switches, reason: why });
        setSwitches(null);
        setMessage({ ok: true, text: `Enforcement of ${id} changed.` });
      },
    });
  };

  const confirm = async () => {
    if (!pending || reason.trim() === '') return;
    try {
      await pending.apply(reason.trim());
      tenant.reload();
    } catch (e) {
      fail(e);
    }
    setPending(null);
    setReason('');
  };

  const unknown = t !== null && unknownTenant(t) && !configureAnyway;
  const room = t ? headroom(t) : null;
  const sw = switches ?? (t ? { enabled: t.enforcement.tenant_enabled, limits: t.enforcement.limits } : null);

  return (
    <div className="page">
      <header className="page-head">
        <h2>
          Tenant <code data-testid="tenant-id">{id}</code>
        </h2>
        <RangePicker value={range} onChange={setRange} />
      </header>
      {tenant.error && <ErrorBox message={tenant.error} />}
      <OutcomeLine outcome={message} />
      {!t ? (
        !tenant.error && <Loading what={`tenant ${id}`} />
      ) : unknown ? (
        <section className="notice" data-testid="unknown-tenant">
          <p>
            <b>{id}</b> has never been seen and is not configured: no request has named it since the service
            started, and neither the overrides nor a change here sets anything for it. If it starts sending,
            it gets the default limits.
          </p>
          <p className="hint">Check the spelling, or the X-Scope-OrgID header its senders use.</p>
          {editable && (
            <button type="button" onClick={() => setConfigureAnyway(true)}>
              Set limits for {id} before it sends
            </button>
          )}
        </section>
      ) : (
        <>
          <div className="stats">
            <div className="stat">
              <b data-testid="tenant-accepted">{formatNumber(t.window.accepted_samples_per_second)}</b>
              <span>accepted samples/s</span>
            </div>
            <div className="stat">
              <b data-testid="tenant-rejected">{formatNumber(t.window.rejected_samples_per_second)}</b>
              <span>rejected samples/s</span>
            </div>
            <div className="stat">
              <b>{formatNumber(t.window.requests_per_second)}</b>
              <span>requests/s</span>
            </div>
            <div className="stat">
              <b data-testid="tenant-denied">{formatNumber(t.window.denied)}</b>
              <span>denied in {range}</span>
            </div>
            <div className="stat">
              <b data-testid="tenant-headroom">{headroomText(room, formatNumber)}</b>
              <span>headroom under ingestion_rate</span>
            </div>
            <div className="stat">
              <b data-testid="tenant-time-to-limit">{minutesText(minutesToLimit(t))}</b>
              <span>
                to the limit at the trend ({t.trend.direction},{' '}
                {formatNumber(t.trend.samples_per_second_change_per_minute)} samples/s per min)
              </span>
            </div>
            <div className="stat">
              <UtilBar
                pct={t.utilisation.ingestion_rate_accepted_pct}
                label="ingestion_rate used (accepted)"
              />
              <span>of ingestion_rate accepted</span>
            </div>
            <div className="stat">
              <UtilBar pct={t.utilisation.ingestion_burst_pct} label="burst used" />
              <span>of burst now</span>
            </div>
          </div>
          {t.burst?.flagged && (
            <p className="notice" data-testid="tenant-burst">
              <BurstBadge burst={t.burst} /> This tenant sends {formatNumber(t.burst.rate)} items/s, against
              its own baseline of {formatNumber(t.burst.baseline)}/s over the last day, since{' '}
              {formatTime(t.burst.since)}. See the Cost page for recent bursts.
            </p>
          )}
          {!retryStorm(t) && flow.data && retriesClimbing(flow.data.points) && (
            <p className="notice" data-testid="retries-climbing">
              <span className="flag">retries climbing</span> Requests/s rose by half or more over this range
              while accepted samples/s stayed flat: the sender is resending denied writes. Check the denials
              below.
            </p>
          )}
          {retryStorm(t) && (
            <p className="notice" data-testid="retry-storm">
              <span className="flag">retry storm</span> Most of this tenant&apos;s requests are denied and
              sent again: it offers {formatNumber(t.window.samples_per_second)} samples/s but only{' '}
              {formatNumber(t.window.accepted_samples_per_second)} are accepted. Slow the sender (its
              remote-write queue) or raise ingestion_rate.
            </p>
          )}
          {Object.keys(t.window.denied_by_reason).length > 0 && (
            <p className="reasons" data-testid="tenant-denied-reasons">
              Denied by reason:{' '}
              {Object.entries(t.window.denied_by_reason).map(([r, n]) => (
                <span key={r} className="reason">
                  {r}: {n}
                </span>
              ))}
            </p>
          )}
          {t.active_series && <ActiveSeriesCard s={t.active_series} />}
          {flow.error && <ErrorBox message={flow.error} />}
          {flow.data ? (
            <FlowCharts flow={flow.data} limit={t.limits.ingestion_rate} />
          ) : (
            <Loading what="charts" />
          )}
          <TenantAgreementPanel
            agreement={(t as Tenant & { agreement?: TenantAgreement | null }).agreement}
          />

          <section className="card">
            <h3>Limits</h3>
            {!editable && (
              <p className="hint" data-testid="read-only">
                Your role ({role}) can view limits but not change them.
              </p>
            )}
            {t.enforcement.dry_run && (
              <p className="hint">The service runs in dry-run: no limit is enforced.</p>
            )}
            <div className="table-wrap">
              <table className="limits">
                <thead>
                  <tr>
                    <th>Limit</th>
                    <th>In force</th>
                    <th>Source</th>
                    <th>New value</th>
                    <th>Enforced</th>
                  </tr>
                </thead>
                <tbody>
                  {definitions.map((d) => (
                    <tr key={d.name} data-limit={d.name}>
                      <td title={d.description}>
                        <code>{d.name}</code>
                      </td>
                      <td className="in-force">
                        {typeof t.limits[d.name] === 'number'
                          ? d.values
                            ? (d.values[t.limits[d.name] as number] ?? String(t.limits[d.name]))
                            : formatLimitNumber(d.name, t.limits[d.name] as number)
                          : formatLimitValue(t.limits[d.name]) || '(none)'}
                        {t.limits[d.name] === 0 && d.zero_means ? ` (${d.zero_means})` : ''}
                      </td>
                      <td className="source">{SOURCE_TEXT[t.limit_sources[d.name] ?? 'default']}</td>
                      <td>
                        <input
                          aria-label={`new ${d.name}`}
                          name={d.name}
                          inputMode={d.kind === 'float' || d.kind === 'int' ? 'decimal' : 'text'}
                          disabled={!editable}
                          placeholder={
                            d.values && typeof t.limits[d.name] === 'number'
                              ? (d.values[t.limits[d.name] as number] ?? '')
                              : formatLimitValue(t.limits[d.name])
                          }
                          value={typed[d.name] ?? ''}
                          onChange={(e) =>
                            setTyped((old) => {
                              const next = { ...old, [d.name]: e.target.value };
                              if (e.target.value === '') delete next[d.name];
                              return next;
                            })
                          }
                        />
                      </td>
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`enforce ${d.name}`}
                          disabled={!editable}
                          checked={sw?.limits[d.name] ?? true}
                          onChange={(e) =>
                            sw && setSwitches({ ...sw, limits: { ...sw.limits, [d.name]: e.target.checked } })
                          }
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {errors.length > 0 && <ErrorBox message={errors.join('; ')} />}
            <div className="toolbar">
              <button
                type="button"
                disabled={!editable || errors.length > 0 || changes.length === 0}
                onClick={reviewLimits}
              >
                Review limit changes ({changes.length})
              </button>
              <label className="switch">
                <input
                  type="checkbox"
                  aria-label="enforce this tenant"
                  disabled={!editable}
                  checked={sw?.enabled ?? true}
                  onChange={(e) => sw && setSwitches({ ...sw, enabled: e.target.checked })}
                />
                Enforce this tenant (off: observe only)
              </label>
              <button type="button" disabled={!editable || switches === null} onClick={reviewSwitches}>
                Review enforcement changes
              </button>
            </div>
          </section>
        </>
      )}
      {pending && (
        <div className="dialog-backdrop">
          <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="confirm-title">
            <h3 id="confirm-title">Apply these changes to {id}?</h3>
            <ul className="diff" data-testid="diff">
              {pending.lines.map((l) => (
                <li key={l}>{l}</li>
              ))}
            </ul>
            <p className="hint">
              They apply at once to every request of this tenant and are recorded in the audit log with your
              reason.
            </p>
            <label className="reason-field">
              Reason (required, kept in the audit log)
              <input
                aria-label="change reason"
                value={reason}
                maxLength={500}
                placeholder="e.g. INC-123: team-b floods after a deploy"
                onChange={(e) => setReason(e.target.value)}
              />
            </label>
            <div className="toolbar">
              <button
                type="button"
                className="primary"
                disabled={reason.trim() === ''}
                title={reason.trim() === '' ? 'Say why first' : undefined}
                onClick={() => void confirm()}
              >
                Apply
              </button>
              <button type="button" onClick={() => setPending(null)}>
                Cancel
              </button>
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
