// Closed-loop remote-write load against one replica's proxy, counting what it answered: the shared driver
// of the multi-replica exactness tests (Redis, PostgreSQL).

import { Pool } from 'undici';
import { remoteWriteHeaders } from './write-request.js';

export interface ReplicaCount {
  allowed: number;
  denied: number;
  /** Anything but 200 or 429: the tests expect none. */
  other: string[];
}

/** `workers` concurrent senders posting `body` for `tenant` until `deadline` (0: no deadline) or `limit` requests. */
export async function driveReplica(
  proxyUrl: string,
  tenant: string,
  workers: number,
  body: Buffer,
  deadline: number,
  limit = Infinity,
): Promise<ReplicaCount> {
  const pool = new Pool(proxyUrl, { connections: workers });
  const count: ReplicaCount = { allowed: 0, denied: 0, other: [] };
  let sent = 0;
  const worker = async () => {
    while ((performance.now() < deadline || deadline === 0) && sent++ < limit) {
      try {
        const res = await pool.request({
          path: '/api/v1/push',
          method: 'POST',
          headers: remoteWriteHeaders(tenant),
          body,
        });
        const text = await res.body.text();
        if (res.statusCode === 200) count.allowed++;
        else if (res.statusCode === 429) count.denied++;
        else count.other.push(`HTTP ${res.statusCode}: ${text.slice(0, 120)}`);
      } catch (err) {
        count.other.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  await pool.close();
  return count;
}
