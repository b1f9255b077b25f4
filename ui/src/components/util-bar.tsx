// A utilisation bar (0-100%+), coloured by how close the tenant is to its limit.
import { formatPct } from '../logic/format.js';

export function UtilBar({ pct, label }: { pct: number; label: string }) {
  const level = pct >= 100 ? 'over' : pct >= 80 ? 'high' : 'ok';
  return (
    <div
      className={`util ${level}`}
      title={`${label}: ${formatPct(pct)}`}
      aria-label={`${label} ${formatPct(pct)}`}
    >
      <div className="util-fill" style={{ width: `${Math.min(100, Math.max(0, pct))}%` }} />
      <span>{formatPct(pct)}</span>
    </div>
  );
}
