// The upstream's health as the periodic probe last saw it: up/down/unknown, when, how fast, and the last error;
// plus how many forwarded writes failed lately. Shared by the Overview and System pages.
import type { UpstreamHealth } from '../api.js';
import { formatNumber, formatTime } from '../logic/format.js';

/** One line an operator reads at a glance, e.g. "up · checked 12:00:01Z · 3.2 ms". */
export function upstreamSummary(h: UpstreamHealth): string {
  if (!h.probe_url) return 'not probed (UPSTREAM_HEALTH_PATH is empty)';
  if (h.status === 'unknown' || !h.last_check)
    return `not checked yet (first probe of ${h.probe_url} within ${formatNumber(h.interval_seconds)} s)`;
  const latency = h.latency_ms === null ? '' : ` · ${formatNumber(h.latency_ms)} ms`;
  return `${h.status} · checked ${formatTime(h.last_check)}${latency}`;
}

export function UpstreamHealthFacts({ health }: { health: UpstreamHealth }) {
  const h = health;
  return (
    <div className="upstream-health" data-testid="upstream-health" data-status={h.status}>
      <b className={`badge upstream-${h.status}`} data-testid="upstream-status">
        {h.status}
      </b>{' '}
      <code>{h.target}</code>
      <div className="hint" data-testid="upstream-summary">
        {upstreamSummary(h)}
      </div>
      {h.status === 'down' && h.last_error && (
        <div className="hint bad-text" data-testid="upstream-error">
          {h.last_error.message}
        </div>
      )}
      {h.status === 'down' && h.probe_url?.endsWith('/ready') && !h.probe_url.endsWith('/-/ready') && (
        <div className="hint" data-testid="upstream-health-path-hint">
          Mimir answers <code>/ready</code>; a plain Prometheus answers <code>/-/ready</code> instead. If the
          upstream is Prometheus, start the edge with <code>UPSTREAM_HEALTH_PATH=/-/ready</code> (see the
          prometheus docs page).
        </div>
      )}
      {h.status === 'up' && h.last_error && (
        <div className="hint" data-testid="upstream-last-error">
          last failure {formatTime(h.last_error.time)}: {h.last_error.message}
        </div>
      )}
      {h.recent_seconds > 0 && (
        <div className="hint" data-testid="upstream-forward-failures">
          {h.recent_forward_failures === 0
            ? `no forwarded write failed in the last ${formatNumber(h.recent_seconds)} s`
            : `${formatNumber(h.recent_forward_failures)} forwarded writes failed (no answer or 5xx) in the last ${formatNumber(h.recent_seconds)} s`}
        </div>
      )}
    </div>
  );
}
