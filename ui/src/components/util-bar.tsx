// A utilisation bar (0-100%+), coloured by how close the tenant is to its limit; the figure sits beside
// the bar in the text colour, so it stays readable whatever the fill.
import { formatPct } from '../logic/format.js';

export function UtilBar({ pct, label }: { pct: number; label: string }) {
  const level = pct >= 100 ? 'over' : pct >= 80 ? 'high' : 'ok';
  return (
    <div
      className={`util ${level}`}
      title={`${label}: ${formatPct(pct)}`}
      aria-label={`${label} ${formatPct(pct)}`}
    >
      <div className="util-track">
        <div className="util-fill" style={{ width: `${Math.min(100, Math.max(0, pct))}%` }} />
      </div>
      <span>{formatPct(pct)}</span>
    </div>
  );
}
