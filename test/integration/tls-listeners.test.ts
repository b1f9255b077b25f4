// TLS on the proxy and admin ports and mTLS on both gRPC ports, with certificates this test makes with
// openssl: what a sender, an operator and Envoy (played by grpc-js) see, and that a certificate replaced on
// disk reaches new connections without a restart.

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient } from '../helpers/grpc-client.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';

const dir = mkdtempSync(join(tmpdir(), 'edge-tls-'));
const file = (name: string): string => join(dir, name);
const pem = (name: string): Buffer => readFileSync(file(name));

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

const EXTENSIONS = `
[server]
subjectAltName = IP:127.0.0.1, DNS:localhost
extendedKeyUsage = serverAuth
[client]
extendedKeyUsage = clientAuth
`;

/** A P-256 key and a certificate signed by the test CA. */
function issue(name: string, subject: string, extension: 'server' | 'client'): void {
  openssl(
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject,
  ); // prettier-ignore
  openssl(
    'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '2', '-out', `${name}.crt`, '-extfile', 'ext.cnf', '-extensions', extension,
  ); // prettier-ignore
}

function fingerprintOf(name: string): string {
  return new X509Certificate(pem(name)).fingerprint256;
}

/** SHA-256 fingerprint of the certificate a new TLS connection to `port` is served (with the client cert). */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: pem('ca.crt'),
        cert: pem('client.crt'),
        key: pem('client.key'),
        ALPNProtocols: ['h2', 'http/1.1'],
      },
      () => {
        resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? 'none');
        socket.destroy();
      },
    );
    socket.once('error', reject);
  });
}

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
let agent: Agent;
let proxyUrl: string;
let adminUrl: string;

beforeAll(async () => {
  writeFileSync(file('ext.cnf'), EXTENSIONS);
  openssl(
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=edge test CA',
  ); // prettier-ignore
  issue('first', '/CN=edge first', 'server');
  issue('second', '/CN=edge second', 'server');
  issue('client', '/CN=envoy', 'client');
  // The edge reads these paths; the test replaces their contents later.
  for (const listener of ['proxy', 'admin', 'grpc']) {
    copyFileSync(file('first.crt'), file(`${listener}.crt`));
    copyFileSync(file('first.key'), file(`${listener}.key`));
  }
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {
    PROXY_TLS_CERT_FILE: file('proxy.crt'),
    PROXY_TLS_KEY_FILE: file('proxy.key'),
    ADMIN_TLS_CERT_FILE: file('admin.crt'),
    ADMIN_TLS_KEY_FILE: file('admin.key'),
    GRPC_TLS_CERT_FILE: file('grpc.crt'),
    GRPC_TLS_KEY_FILE: file('grpc.key'),
    GRPC_TLS_CLIENT_CA_FILE: file('ca.crt'),
    TLS_RELOAD_INTERVAL: '100ms',
  });
  proxyUrl = `https://127.0.0.1:${edge.service.proxyPort}`;
  adminUrl = `https://127.0.0.1:${edge.service.adminPort}`;
  agent = new Agent({ connect: { ca: pem('ca.crt') } });
}, 30_000);

afterAll(async () => {
  await agent?.close();
  await edge?.stop();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS on the proxy and admin ports', () => {
  it('accepts a remote write over HTTPS, verified against the CA, and forwards it', async () => {
    const res = await request(`${proxyUrl}/api/v1/push`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-scope-orgid': 'team-tls',
      },
      body: snappyBody(manySeries(3, 4, 1)),
      dispatcher: agent,
    });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(upstream.requests.at(-1)?.headers['x-scope-orgid']).toBe('team-tls');
  });

  it('serves the admin API over HTTPS', async () => {
    const res = await request(`${adminUrl}/api/system/status`, {
      headers: edge.adminHeaders,
      dispatcher: agent,
    });
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as { status: string }).status).toBe('ok');
  });

  it('does not answer plain HTTP on a TLS port', async () => {
    for (const port of [edge.service.proxyPort, edge.service.adminPort]) {
      const plain = request(`http://127.0.0.1:${port}/api/health`, { headersTimeout: 3000 });
      await expect(plain, `plain HTTP on port ${port}`).rejects.toThrow();
    }
  });
});

describe('mTLS on the gRPC ports (grpc-js as Envoy)', () => {
  it('answers a client with a certificate signed by GRPC_TLS_CLIENT_CA_FILE on both ports', async () => {
    const creds = grpc.credentials.createSsl(pem('ca.crt'), pem('client.key'), pem('client.crt'));
    const client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress, creds);
    try {
      expect((await client.health('authz', '')).status).toBe('SERVING');
      expect((await client.health('rls', '')).status).toBe('SERVING');
    } finally {
      client.close();
    }
  });

  it('refuses a client without a certificate', async () => {
    const client = new EnvoyClient(
      edge.extAuthzAddress,
      edge.ratelimitAddress,
      grpc.credentials.createSsl(pem('ca.crt')),
    );
    try {
      await expect(client.health('authz', '')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      client.close();
    }
  });
});

describe('certificate reload', () => {
  it('serves a replaced certificate to new connections on every TLS port, without a restart', async () => {
    const ports = {
      proxy: edge.service.proxyPort,
      admin: edge.service.adminPort,
      grpc: edge.service.extAuthzPort,
    };
    for (const port of Object.values(ports))
      expect(await servedFingerprint(port)).toBe(fingerprintOf('first.crt'));

    // A renewal writes the key and certificate as a Secret update would: both files replaced.
    for (const listener of Object.keys(ports)) {
      copyFileSync(file('second.key'), file(`${listener}.key`));
      copyFileSync(file('second.crt'), file(`${listener}.crt`));
    }
    const want = fingerprintOf('second.crt');
    for (const [listener, port] of Object.entries(ports)) {
      const deadline = Date.now() + 5000;
      let served = await servedFingerprint(port);
      while (served !== want && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        served = await servedFingerprint(port);
      }
      expect(served, `certificate served on the ${listener} port after the files changed`).toBe(want);
    }
    expect(await servedFingerprint(edge.service.ratelimitPort)).toBe(want);

    // Traffic keeps flowing on the renewed certificate.
    const creds = grpc.credentials.createSsl(pem('ca.crt'), pem('client.key'), pem('client.crt'));
    const client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress, creds);
    try {
      expect((await client.health('rls', '')).status).toBe('SERVING');
    } finally {
      client.close();
    }
    const health = await request(`${adminUrl}/api/health`, {
      dispatcher: new Agent({ connect: { ca: pem('ca.crt') } }),
    });
    expect(health.statusCode).toBe(200);
    await health.body.dump();
    const samples = await scrapeMetrics(edge.metricsUrl);
    for (const listener of Object.keys(ports))
      expect(
        sumMetric(samples, 'rls_tls_reloads_total', { listener, result: 'applied' }),
      ).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('keeps the last good certificate when the new files do not match, and says so in metrics', async () => {
    const before = await servedFingerprint(edge.service.proxyPort);
    const refused = (): Promise<number> =>
      scrapeMetrics(edge.metricsUrl).then((samples) =>
        sumMetric(samples, 'rls_tls_reloads_total', { listener: 'proxy', result: 'error' }),
      );
    const errorsBefore = await refused();
    // A key from another pair: a half-finished renewal.
    copyFileSync(file('first.key'), file('proxy.key'));
    const deadline = Date.now() + 5000;
    let errors = errorsBefore;
    while (errors === errorsBefore && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      errors = await refused();
    }
    expect(errors, 'refused reloads of the proxy certificate').toBe(errorsBefore + 1);
    expect(await servedFingerprint(edge.service.proxyPort)).toBe(before);
  });
});
