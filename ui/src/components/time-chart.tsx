// A time series chart on uPlot (the library Grafana's time series panel is built on): a y axis with ticks
// and its unit, gridlines, a hover tooltip with the exact time and values, the bucket width in the caption,
// and optional dashed limit lines. The still-filling bucket arrives as null and is simply not drawn.
// uPlot needs no eval and styles only through the CSSOM, so the UI's strict CSP (style-src 'self') holds;
// its stylesheet is bundled by Vite with ours.
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { allEmpty, latest } from '../logic/chart-data.js';
import { formatNumber } from '../logic/format.js';
import { bucketText } from '../logic/range.js';

export interface TimeSeries {
  name: string;
  color: string;
  values: (number | null)[];
  /** Drawn dashed and left out of the legend's "latest": a limit, not a measurement. */
  limit?: boolean;
}

const HEIGHT = 200;

/** Times in UTC everywhere, like the rest of the UI (formatTime). */
const utc = (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');

function timeText(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

/** UTC tick labels, as precise as the span needs: seconds for minutes, days for a week. */
function xTick(seconds: number, spanSeconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  if (spanSeconds > 2 * 86_400) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  if (spanSeconds > 900) return iso.slice(11, 16);
  return iso.slice(11, 19);
}

function valueText(v: number | null | undefined, unit: string): string {
  return v === null || v === undefined ? '–' : `${formatNumber(v, 2)} ${unit}`;
}

/** Hover tooltip: the bucket's start time and every series' exact value at the cursor. */
function tooltipPlugin(unit: string, bucketSeconds: number): uPlot.Plugin {
  let tip: HTMLDivElement;
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement('div');
        tip.className = 'chart-tip';
        tip.setAttribute('role', 'tooltip');
        tip.hidden = true;
        u.over.appendChild(tip);
      },
      setCursor: (u) => {
        const idx = u.cursor.idx;
        const left = u.cursor.left ?? -1;
        if (idx === null || idx === undefined || left < 0) {
          tip.hidden = true;
          return;
        }
        const t = u.data[0][idx]!;
        tip.replaceChildren();
        const head = document.createElement('b');
        head.textContent = `${timeText(t)} (+${bucketText(bucketSeconds)})`;
        tip.appendChild(head);
        for (let i = 1; i < u.series.length; i++) {
          const s = u.series[i]!;
          const row = document.createElement('div');
          const swatch = document.createElement('i');
          swatch.style.background = String(s.stroke instanceof Function ? s.stroke(u, i) : s.stroke);
          row.appendChild(swatch);
          const v = u.data[i]![idx];
          // null is the live bucket (the last one) or a bucket from before the service measured anything.
          const missing = idx === u.data[0].length - 1 ? 'still filling' : 'not measured';
          row.append(`${String(s.label)}: ${v === null || v === undefined ? missing : valueText(v, unit)}`);
          tip.appendChild(row);
        }
        tip.hidden = false;
        // Keep the tooltip inside the plot: flip to the cursor's left on the right half.
        const overWidth = u.over.clientWidth;
        tip.style.left = left > overWidth / 2 ? '' : `${left + 12}px`;
        tip.style.right = left > overWidth / 2 ? `${overWidth - left + 12}px` : '';
        tip.style.top = `${Math.max(0, (u.cursor.top ?? 0) - 10)}px`;
      },
    },
  };
}

export function TimeChart({
  title,
  unit,
  bucketSeconds,
  x,
  series,
  testId,
}: {
  title: string;
  /** The y axis' unit, as the tick labels and tooltip show it: "req/s", "samples/s", "denials". */
  unit: string;
  bucketSeconds: number;
  x: number[];
  series: TimeSeries[];
  testId?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [ticks, setTicks] = useState<{ y: string[]; x: string[] }>({ y: [], x: [] });
  const shape = `${unit}|${bucketSeconds}|${series.map((s) => s.name).join('|')}`;
  const data = [x, ...series.map((s) => s.values)] as uPlot.AlignedData;

  // (Re)create the plot when the series or unit change; data alone only goes through setData below.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      tzDate: utc,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        {
          stroke: '#495057',
          grid: { stroke: '#e9ecef', width: 1 },
          ticks: { stroke: '#ced4da' },
          values: (u, splits) => splits.map((v) => xTick(v, (u.scales.x!.max ?? 0) - (u.scales.x!.min ?? 0))),
          // HH:MM:SS labels need about 60 px; uPlot picks the tick step that leaves this much room.
          space: 80,
        },
        {
          stroke: '#495057',
          label: unit,
          labelSize: 18,
          size: 56,
          grid: { stroke: '#e9ecef', width: 1 },
          ticks: { stroke: '#ced4da' },
          values: (_u, splits) => splits.map((v) => formatNumber(v)),
        },
      ],
      series: [
        { label: 'time' },
        ...series.map((s) => ({
          label: s.name,
          stroke: s.color,
          width: s.limit ? 1.5 : 2,
          dash: s.limit ? [6, 4] : undefined,
          points: { show: false },
          spanGaps: false,
        })),
      ],
      hooks: {
        // Mirror the ticks uPlot drew on its canvas into the DOM, so they can be read (and tested).
        draw: [
          (u) => {
            const text = (i: number) =>
              ((u.axes[i] as unknown as { _values?: (string | number)[] })._values ?? []).map(String);
            setTicks((old) => {
              const next = { x: text(0), y: text(1) };
              return old.x.join() === next.x.join() && old.y.join() === next.y.join() ? old : next;
            });
          },
        ],
      },
      plugins: [tooltipPlugin(unit, bucketSeconds)],
    };
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const resize = new ResizeObserver(() =>
      u.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  const measured = series.filter((s) => !s.limit);
  const empty = x.length === 0 || allEmpty(measured.map((s) => s.values));
  return (
    <figure className="chart" aria-label={title} data-testid={testId}>
      <figcaption>
        <span>
          {title} <small className="bucket">per {bucketText(bucketSeconds)} bucket</small>
        </span>
        <span className="legend">
          {series.map((s) => (
            <span key={s.name} className={s.limit ? 'limit' : ''}>
              <i style={{ background: s.color }} /> {s.name} {valueText(latest(s.values), unit)}
            </span>
          ))}
        </span>
      </figcaption>
      <div className="chart-plot" ref={box}>
        {empty && <p className="chart-empty">No traffic in this range.</p>}
      </div>
      <div className="sr-only" data-testid="chart-axes">
        <span data-axis="y">
          y axis ({unit}): {ticks.y.join(', ')}
        </span>
        <span data-axis="x">x axis (UTC): {ticks.x.join(', ')}</span>
      </div>
    </figure>
  );
}
