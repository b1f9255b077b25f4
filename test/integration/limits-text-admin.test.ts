// The text and list limits through the admin API and the proxy: an operator sets drop_labels and turns on HA
// deduplication for a tenant at runtime, the proxy decides with them at once, and a bad value is a 400 naming
// the limit that changes nothing.

import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { pushRemoteWrite, snappyBody } from '../helpers/write-request.js';
import type { SeriesSpec } from '../helpers/write-request.js';

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {}, 'overrides:\n  team-t:\n    max_label_names_per_series: 3\n');
});
afterAll(async () => {
  await edge?.stop();
  await upstream?.close();
});

async function putLimits(limits: Record<string, unknown>) {
  const res = await request(`${edge.adminUrl}/api/tenants/team-t/limits`, {
    method: 'PUT',
    headers: { ...edge.adminHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ limits, reason: 'test' }),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

async function tenantLimits(): Promise<Record<string, unknown>> {
  const res = await request(`${edge.adminUrl}/api/tenants/team-t`, { headers: edge.adminHeaders });
  return ((await res.body.json()) as { limits: Record<string, unknown> }).limits;
}

const push = (series: SeriesSpec[]): Promise<number> =>
  pushRemoteWrite(edge.proxyUrl, 'team-t', snappyBody(series));

describe('text and list limits through the admin API', () => {
  it('drop_labels set at runtime makes the proxy stop counting those labels at once', async () => {
    const wide = [{ labels: { __name__: 'a', job: 'x', pod: 'p-1', node: 'n-1' } }];
    expect(await push(wide), '4 labels against a limit of 3').toBe(400);
    const put = await putLimits({ drop_labels: ['pod', 'node'] });
    expect(put.status).toBe(200);
    expect((await tenantLimits()).drop_labels).toEqual(['pod', 'node']);
    expect(await push(wide), 'pod and node are dropped before counting').toBe(200);
    expect(upstream.requests.at(-1)!.body, 'the client bytes go upstream as sent').toEqual(snappyBody(wide));
  });

  it('turns HA deduplication on with a short failover timeout', async () => {
    const put = await putLimits({ accept_ha_samples: 'true', ha_tracker_failover_timeout: '1h' });
    expect(put.status).toBe(200);
    const limits = await tenantLimits();
    expect(limits.accept_ha_samples).toBe(1);
    expect(limits.ha_tracker_failover_timeout).toBe('1h');
    const from = (replica: string) => [{ labels: { __name__: 'up', cluster: 'c', __replica__: replica } }];
    expect(await push(from('r1'))).toBe(200);
    expect(await push(from('r2'))).toBe(202);
  });

  it('answers a bad value with 400 naming limits.<name>, and changes nothing', async () => {
    const before = await tenantLimits();
    for (const [limits, path] of [
      [{ drop_labels: 'pod' }, 'limits.drop_labels'],
      [{ ha_replica_label: 'not a label' }, 'limits.ha_replica_label'],
      [{ ha_tracker_failover_timeout: 30 }, 'limits.ha_tracker_failover_timeout'],
      [{ accept_ha_samples: 'yes' }, 'limits.accept_ha_samples'],
    ] as const) {
      const res = await putLimits(limits);
      expect(res.status, JSON.stringify(limits)).toBe(400);
      expect(res.body.path).toBe(path);
      expect(String(res.body.error)).toContain(path);
    }
    expect(await tenantLimits()).toEqual(before);
  });
});
