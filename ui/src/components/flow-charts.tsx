// The two charts every traffic view shows, over the page's range: requests/s (allowed, denied) and
// samples/s (accepted, rejected, and the tenant's ingestion_rate as a dashed line when given).
import type { Flow } from '../api.js';
import { column, xValues } from '../logic/chart-data.js';
import { TimeChart } from './time-chart.js';

export function FlowCharts({ flow, limit }: { flow: Flow; limit?: number }) {
  const points = flow.points;
  const secs = flow.bucket_seconds;
  const x = xValues(points);
  const since = flow.since ? Date.parse(flow.since) : -Infinity;
  const col = (pick: (p: (typeof points)[number]) => number) => column(points, pick, since, secs * 1000);
  const limitLine =
    limit !== undefined && limit > 0
      ? [{ name: 'ingestion_rate limit', color: '#868e96', values: points.map(() => limit), limit: true }]
      : [];
  return (
    <div className="grid2">
      <TimeChart
        title="Requests per second"
        unit="req/s"
        bucketSeconds={secs}
        x={x}
        testId="chart-requests"
        series={[
          { name: 'allowed', color: '#2f9e44', values: col((p) => p.allowed / secs) },
          { name: 'denied', color: '#e03131', values: col((p) => p.denied / secs) },
        ]}
      />
      <TimeChart
        title="Samples per second"
        unit="samples/s"
        bucketSeconds={secs}
        x={x}
        testId="chart-samples"
        series={[
          {
            name: 'accepted',
            color: '#1971c2',
            values: col((p) => p.accepted_samples_per_second),
          },
          {
            name: 'rejected',
            color: '#f08c00',
            values: col((p) => p.rejected_samples_per_second),
          },
          ...limitLine,
        ]}
      />
    </div>
  );
}
