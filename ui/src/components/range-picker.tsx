// The time-range switch shared by the pages (1m … 7d, as the admin API offers them).
import { RANGES } from '../api.js';
import type { Range } from '../api.js';

export function RangePicker({ value, onChange }: { value: Range; onChange: (r: Range) => void }) {
  return (
    <div className="range-picker" role="group" aria-label="Time range">
      {RANGES.map((r) => (
        <button key={r} type="button" className={r === value ? 'active' : ''} onClick={() => onChange(r)}>
          {r}
        </button>
      ))}
    </div>
  );
}
