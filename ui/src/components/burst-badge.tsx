// The "burst" flag shown next to a tenant that sends far more than its own baseline (GET /api/bursts).
import type { Burst } from '../api.js';
import { formatNumber } from '../logic/format.js';

export function burstText(b: Burst): string {
  return b.ratio === null ? 'burst (new traffic)' : `burst ×${formatNumber(b.ratio)}`;
}

export function BurstBadge({ burst }: { burst: Burst | null | undefined }) {
  if (!burst?.flagged) return null;
  return (
    <span
      className="flag burst"
      data-testid="burst-badge"
      title={`${formatNumber(burst.rate)} items/s against a baseline of ${formatNumber(burst.baseline)}/s`}
    >
      {burstText(burst)}
    </span>
  );
}
