// A dependency-free SVG line chart: one or more series over the same time axis, scaled to the max.
import { formatNumber } from '../logic/format.js';

export interface ChartSeries {
  name: string;
  values: number[];
  color: string;
}

export function LineChart({
  title,
  series,
  labels,
}: {
  title: string;
  series: ChartSeries[];
  labels: string[];
}) {
  const width = 600;
  const height = 160;
  const pad = 4;
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values));
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const x = (i: number) => pad + (i * (width - 2 * pad)) / Math.max(1, n - 1);
  const y = (v: number) => height - pad - (v / max) * (height - 2 * pad);
  return (
    <figure className="chart" aria-label={title}>
      <figcaption>
        <span>{title}</span>
        <span className="legend">
          {series.map((s) => (
            <span key={s.name}>
              <i style={{ background: s.color }} /> {s.name}{' '}
              {formatNumber(s.values[s.values.length - 1] ?? 0)}
            </span>
          ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img">
        <line x1={0} y1={height - pad} x2={width} y2={height - pad} className="axis" />
        {series.map((s) => (
          <polyline
            key={s.name}
            fill="none"
            stroke={s.color}
            strokeWidth={2}
            vectorEffect="non-scaling-stroke"
            points={s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')}
          />
        ))}
      </svg>
      <div className="chart-scale">
        <span>{labels[0] ?? ''}</span>
        <span>max {formatNumber(max)}</span>
        <span>{labels[labels.length - 1] ?? ''}</span>
      </div>
    </figure>
  );
}
