// Adaptive protection of the upstream (docs/protection.md): the mode, the ceiling on writes in flight against
// its bounds, why it last moved, the upstream's write p99 against the target, and the writes shed per
// edge_priority; an operator can switch the mode (audited). Shown on the System page.
import { useState } from 'react';
import { ApiError } from '../api.js';
import { formatNumber, formatTime } from '../logic/format.js';
import { canEdit, usePoll, useSession } from '../session.js';
import { ModeSwitch } from './mode-switch.js';
import type { Outcome } from './states.js';
import { ErrorBox, OutcomeLine } from './states.js';

type ProtectionMode = 'off' | 'observe' | 'enforce';
const MODES: ProtectionMode[] = ['off', 'observe', 'enforce'];
const MODE_TEXT: Record<ProtectionMode, string> = {
  off: 'writes are not counted against an adaptive ceiling',
  observe: 'the ceiling follows the upstream; would-be sheds are counted, nothing is refused',
  enforce: 'writes over their priority’s share of the ceiling get 429',
};
const REASON_TEXT: Record<string, string> = {
  start: 'at its maximum since the mode was set',
  latency: 'lowered: the upstream’s write p99 was over the target',
  errors: 'lowered: too many 5xx, 429 or unanswered writes',
  stalled: 'lowered: writes in flight and no answer for a whole window',
  healthy: 'raised: the upstream met its target',
  idle: 'raised: nothing in flight',
};

interface RouteWindow {
  p99_ms: number;
  error_ratio: number;
  answers: number;
}

export interface ProtectionState {
  mode: ProtectionMode;
  mode_changed_at: string | null;
  ceiling: number;
  min_ceiling: number;
  max_ceiling: number;
  inflight: number;
  latency_target_ms: number;
  window_ms: number;
  last_reason: string;
  last_change_at: string | null;
  routes: { write: RouteWindow; other: RouteWindow };
  priorities: { priority: number; share: number; admitted_below: number; shed: number; would_shed: number }[];
}

export function ProtectionCard() {
  const { api, role } = useSession();
  const { data: p, error, reload } = usePoll<ProtectionState>('/api/protection', 5000);
  const [next, setNext] = useState<ProtectionMode | null>(null);
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState<Outcome | null>(null);
  if (!p && error?.startsWith('no admin endpoint')) return null;

  const apply = async () => {
    if (!next) return;
    try {
      await api.post('/api/protection', { mode: next, ...(reason.trim() ? { reason: reason.trim() } : {}) });
      setMessage({ ok: true, text: `Adaptive protection is now ${next}: ${MODE_TEXT[next]}.` });
      setNext(null);
      setReason('');
      reload();
    } catch (e) {
      setMessage({ ok: false, text: e instanceof ApiError ? e.message : String(e) });
    }
  };
  const shed = p?.priorities.filter((x) => x.shed > 0 || x.would_shed > 0) ?? [];
  const degraded = p !== null && p !== undefined && p.mode !== 'off' && p.ceiling < p.max_ceiling;

  return (
    <section className="card" data-testid="protection">
      <h3>Adaptive protection of the upstream</h3>
      {error && <ErrorBox message={`Protection: ${error}`} />}
      {p && (
        <>
          <p>
            <b className={`badge protection-${p.mode}`} data-testid="protection-mode">
              {p.mode}
            </b>{' '}
            <span className="hint">
              {MODE_TEXT[p.mode]}
              {p.mode_changed_at ? ` (since ${formatTime(p.mode_changed_at)})` : ''}
            </span>
          </p>
          <dl>
            <dt>Ceiling</dt>
            <dd data-testid="protection-ceiling" className={degraded ? 'bad-text' : undefined}>
              {formatNumber(p.ceiling)} writes in flight (bounds {formatNumber(p.min_ceiling)}–
              {formatNumber(p.max_ceiling)}); {formatNumber(p.inflight)} in flight now
            </dd>
            <dt>Last change</dt>
            <dd data-testid="protection-reason">
              {REASON_TEXT[p.last_reason] ?? p.last_reason}
              {p.last_change_at ? ` (${formatTime(p.last_change_at)})` : ''}
            </dd>
            <dt>Upstream, writes</dt>
            <dd>
              p99 {formatNumber(p.routes.write.p99_ms)} ms (target {formatNumber(p.latency_target_ms)} ms),{' '}
              {formatNumber(p.routes.write.error_ratio * 100)}% errors, {formatNumber(p.routes.write.answers)}{' '}
              answers in the last {formatNumber(p.window_ms)} ms
            </dd>
            <dt>Upstream, other</dt>
            <dd>
              p99 {formatNumber(p.routes.other.p99_ms)} ms, {formatNumber(p.routes.other.error_ratio * 100)}%
              errors (watched, does not move the ceiling)
            </dd>
            <dt>Shed since start</dt>
            <dd data-testid="protection-shed">
              {shed.length === 0
                ? 'nothing'
                : shed.map((x, i) => (
                    <span key={x.priority}>
                      {i > 0 ? ', ' : ''}priority {x.priority}: {formatNumber(x.shed)}
                      {x.would_shed > 0 ? ` (${formatNumber(x.would_shed)} would be, observed)` : ''}
                    </span>
                  ))}
            </dd>
          </dl>
          <OutcomeLine outcome={message} />
          {canEdit(role) ? (
            <ModeSwitch
              modes={MODES}
              current={p.mode}
              next={next}
              onNext={setNext}
              reason={reason}
              onReason={setReason}
              subject="protection"
              button="Switch protection"
              onSubmit={() => void apply()}
            />
          ) : (
            <p className="hint">Your role ({role}) can see adaptive protection but not switch it.</p>
          )}
        </>
      )}
    </section>
  );
}
