// ext_authz decides on the client address Envoy saw (CheckRequest attributes.source), not on the client's own
// X-Forwarded-For: forwarded headers count only when that source is one of TRUSTED_PROXIES, exactly as the
// proxy treats its socket address. A policy that blocks a CIDR shows it over a real gRPC Check.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import { EnvoyClient } from '../helpers/grpc-client.js';

const POLICIES = 'block:\n  ips: ["203.0.113.0/24"]\npolicies: []\n';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function setUp(env: Record<string, string>): Promise<EnvoyClient> {
  const path = join(mkdtempSync(join(tmpdir(), 'authz-source-')), 'policies.yaml');
  writeFileSync(path, POLICIES);
  const upstream = await startRecordingUpstream();
  const edge = await startEdge(upstream.url, { POLICY_FILE: path, ...env });
  const client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
  stops.push(
    async () => client.close(),
    () => edge.stop(),
    () => upstream.close(),
  );
  return client;
}

const verdict = async (client: EnvoyClient, source: string, xff?: string) => {
  const res = await client.check({
    method: 'GET',
    path: '/api/v1/query',
    source,
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  });
  return res.denied_response?.status?.code ?? 'OK';
};

describe('ext_authz client address', () => {
  it('blocks by the source Envoy saw, whatever X-Forwarded-For the client wrote', async () => {
    const client = await setUp({});
    // A blocked client cannot escape by naming another address.
    expect(await verdict(client, '203.0.113.9', '198.51.100.1')).toBe('Forbidden');
    // Nor can an allowed client be made to look blocked, or a blocked one appended by the client itself.
    expect(await verdict(client, '198.51.100.7', '203.0.113.9')).toBe('OK');
    expect(await verdict(client, '198.51.100.7', '203.0.113.9, 198.51.100.7')).toBe('OK');
    expect(await verdict(client, '203.0.113.9')).toBe('Forbidden');
  });

  it('believes X-Forwarded-For only when the source is one of TRUSTED_PROXIES', async () => {
    const client = await setUp({ TRUSTED_PROXIES: '10.0.0.0/8' });
    // A load balancer in 10/8 in front of Envoy vouches for the client to its left.
    expect(await verdict(client, '10.1.2.3', '203.0.113.9')).toBe('Forbidden');
    expect(await verdict(client, '10.1.2.3', '198.51.100.1')).toBe('OK');
    // An untrusted source's header is ignored.
    expect(await verdict(client, '198.51.100.1', '203.0.113.9')).toBe('OK');
  });
});
