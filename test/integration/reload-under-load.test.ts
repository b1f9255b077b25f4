// POLICY_FILE and RATELIMIT_CONFIG flipped between two versions again and again while clients keep sending:
// no request may fail, and every answer must be the one of a version that was in force while that request was
// in flight. Each version is recognisable from its answer (the policy set: 200 naming set-a, or 403 blocked; the
// descriptor config: the limit it reports). Then the audit log must list every reload as a numbered version.

import { renameSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { EnvoyClient } from '../helpers/grpc-client.js';
import type { AuditEntry } from '../../src/observe/audit/audit-log.js';

const FLIPS = 20;
const CLIENTS = 6;
/** Least time each version stays in force; it also stays until requests were decided by it alone. */
const HOLD_MS = 40;

// Version A lets everything through under a policy named set-a; version B blocks the test client outright.
const POLICY_A = `
policies:
  - name: set-a
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 100000000, window: 1h }
`;
const POLICY_B = `
block:
  ips: ["127.0.0.1/32"]
policies:
  - name: set-b
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 100000000, window: 1h }
`;
const RATELIMIT_A = `
domain: edge
descriptors:
  - key: route
    rate_limit: { unit: second, requests_per_unit: 1000001 }
`;
const RATELIMIT_B = `
domain: edge
descriptors:
  - key: route
    rate_limit: { unit: minute, requests_per_unit: 2000002 }
`;

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** Replaced by rename, as kubelet and editors do: a reader sees the old file or the new one, whole. */
function swapFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

type Kind = 'A' | 'B';

interface Window {
  kind: Kind;
  /** Before the reload that brought this version was asked for. */
  from: number;
  /** Once the reload that replaced it had returned (Infinity for the last). */
  until: number;
  /** Once the reload that brought it had returned: from here until the next reload, it alone is in force. */
  settled: number;
}

interface Answer {
  sent: number;
  received: number;
  kind: Kind | string;
}

/** Runs `flip(kind)` FLIPS times while `send` runs in a loop on CLIENTS clients; returns the windows and answers. */
async function underLoad(
  flip: (kind: Kind) => Promise<void>,
  send: () => Promise<Kind | string>,
): Promise<{ windows: Window[]; answers: Answer[]; failures: string[] }> {
  const answers: Answer[] = [];
  const failures: string[] = [];
  let running = true;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (running) {
      const sent = performance.now();
      try {
        const kind = await send();
        answers.push({ sent, received: performance.now(), kind });
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  });
  /** Keeps the version in force at least HOLD_MS and until CLIENTS requests were decided by it alone. */
  const hold = async (settled: number): Promise<void> => {
    const deadline = settled + 5000;
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    while (
      answers.filter((a) => a.sent >= settled).length < CLIENTS &&
      failures.length === 0 &&
      performance.now() < deadline
    )
      await new Promise((resolve) => setTimeout(resolve, 5));
  };
  const windows: Window[] = [{ kind: 'A', from: 0, until: Infinity, settled: 0 }];
  // Connections are opened first, so the first version decides some requests on its own too.
  const warm = performance.now() + 5000;
  while (answers.length < CLIENTS * 3 && failures.length === 0 && performance.now() < warm)
    await new Promise((resolve) => setTimeout(resolve, 5));
  windows[0]!.settled = performance.now();
  await hold(windows[0]!.settled);
  for (let i = 1; i <= FLIPS; i++) {
    const kind: Kind = i % 2 === 1 ? 'B' : 'A';
    const from = performance.now();
    await flip(kind);
    const settled = performance.now();
    windows[windows.length - 1]!.until = settled;
    windows.push({ kind, from, until: Infinity, settled });
    await hold(settled);
  }
  running = false;
  await Promise.all(clients);
  return { windows, answers, failures };
}

/** Answers that match no version in force while they were in flight, as the user would have seen them. */
function misDecided(windows: readonly Window[], answers: readonly Answer[]): string[] {
  const out: string[] = [];
  for (const a of answers) {
    const ok = windows.some((w) => w.kind === a.kind && w.from <= a.received && a.sent <= w.until);
    if (!ok) {
      const inForce = windows.filter((w) => w.from <= a.received && a.sent <= w.until).map((w) => w.kind);
      out.push(
        `request in flight ${a.sent.toFixed(1)}-${a.received.toFixed(1)} ms got version ${a.kind}, in force: ${inForce.join('/')}`,
      );
    }
  }
  return out;
}

/** Every version must have decided some requests it alone was in force for, or the check above proved nothing. */
function unexercised(windows: readonly Window[], answers: readonly Answer[]): number[] {
  const out: number[] = [];
  windows.forEach((w, i) => {
    const next = windows[i + 1];
    const end = next ? next.from : Infinity;
    if (!answers.some((a) => a.sent >= w.settled && a.received <= end)) out.push(i + 1);
  });
  return out;
}

async function audit(edge: EdgeUnderTest, source: string): Promise<AuditEntry[]> {
  const res = await request(`${edge.adminUrl}/api/audit?limit=1000`, { headers: edge.adminHeaders });
  const body = (await res.body.json()) as { entries: AuditEntry[] };
  return body.entries.filter((e) => e.source === source).reverse();
}

describe('reloads under load', () => {
  it('a policy set flipped 20 times under load: no request fails, each answer is the set in force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reload-policy-'));
    const file = join(dir, 'policies.yaml');
    writeFileSync(file, POLICY_A);
    const upstream = await startRecordingUpstream();
    stops.push(() => upstream.close());
    // The reload is driven by the test; the poll must not race it.
    const edge = await startEdge(upstream.url, { POLICY_FILE: file, POLICY_RELOAD_INTERVAL: '1h' });
    stops.push(() => edge.stop());

    const { windows, answers, failures } = await underLoad(
      async (kind) => {
        swapFile(file, kind === 'A' ? POLICY_A : POLICY_B);
        await edge.service.reloadPolicies();
      },
      async () => {
        const res = await request(`${edge.proxyUrl}/api/thing`);
        const policy = res.headers['ratelimit-policy'];
        const text = await res.body.text();
        if (res.statusCode === 200 && typeof policy === 'string' && policy.startsWith('"set-a"')) return 'A';
        if (res.statusCode === 403 && text.includes('ACCESS_BLOCKED')) return 'B';
        return `HTTP ${res.statusCode} ${String(policy)} ${text.slice(0, 80)}`;
      },
    );

    expect(failures, 'requests that failed during reloads').toEqual([]);
    expect(misDecided(windows, answers), 'answers of a policy set not in force').toEqual([]);
    expect(unexercised(windows, answers), 'versions no request was decided by alone').toEqual([]);
    expect(answers.length).toBeGreaterThan(FLIPS * CLIENTS);

    // Every reload is one numbered version in the audit, with the checksum of the content in force.
    const reloads = await audit(edge, 'policy_file');
    expect(reloads.map((e) => e.source_version)).toEqual(Array.from({ length: FLIPS + 1 }, (_, i) => i + 1));
    expect(reloads.every((e) => e.result === 'applied' && e.action === 'policy_set.reload')).toBe(true);
    expect(reloads.every((e) => e.file === file && e.role === 'system')).toBe(true);
    const sums = reloads.map((e) => e.checksum);
    expect(new Set(sums).size).toBe(2);
    expect(sums.every((s, i) => s === sums[i % 2])).toBe(true);

    // A bad edit is recorded as refused, and the version in force does not move.
    swapFile(file, 'policies: [{ name: broken, limit: { algorithm: nope } }]\n');
    await edge.service.reloadPolicies();
    const after = await audit(edge, 'policy_file');
    const last = after[after.length - 1]!;
    expect(last).toMatchObject({ result: 'error', action: 'policy_set.reload.refused' });
    expect(last.source_version).toBe(FLIPS + 1);
    const res = await request(`${edge.proxyUrl}/api/thing`);
    await res.body.text();
    expect(res.statusCode, 'the last good set (version A) stays in force').toBe(200);
    const metrics = await (await request(edge.metricsUrl)).body.text();
    expect(metrics).toContain(`rls_source_config_version{source="policy_file"} ${FLIPS + 1}`);
  }, 60_000);

  it('a descriptor config flipped 20 times under load: every gRPC answer reports the config in force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reload-ratelimit-'));
    const file = join(dir, 'ratelimit.yaml');
    writeFileSync(file, RATELIMIT_A);
    const upstream = await startRecordingUpstream();
    stops.push(() => upstream.close());
    const edge = await startEdge(upstream.url, {
      RATELIMIT_CONFIG: file,
      RATELIMIT_CONFIG_RELOAD_INTERVAL: '1h',
    });
    stops.push(() => edge.stop());
    const client = new EnvoyClient(edge.extAuthzAddress, edge.ratelimitAddress);
    stops.push(async () => client.close());

    const { windows, answers, failures } = await underLoad(
      async (kind) => {
        swapFile(file, kind === 'A' ? RATELIMIT_A : RATELIMIT_B);
        edge.service.reloadRateLimitConfig();
      },
      async () => {
        const res = await client.shouldRateLimit({
          domain: 'edge',
          descriptors: [{ entries: [{ key: 'route', value: '/x' }] }],
        });
        const status = res.statuses[0];
        const limit = status?.current_limit;
        if (res.overall_code === 'OK' && limit?.requests_per_unit === 1000001 && limit.unit === 'SECOND')
          return 'A';
        if (res.overall_code === 'OK' && limit?.requests_per_unit === 2000002 && limit.unit === 'MINUTE')
          return 'B';
        return `${res.overall_code} ${JSON.stringify(limit)}`;
      },
    );

    expect(failures, 'gRPC calls that failed during reloads').toEqual([]);
    expect(misDecided(windows, answers), 'answers of a descriptor config not in force').toEqual([]);
    expect(unexercised(windows, answers), 'versions no request was decided by alone').toEqual([]);

    const reloads = await audit(edge, 'ratelimit_config');
    expect(reloads.map((e) => e.source_version)).toEqual(Array.from({ length: FLIPS + 1 }, (_, i) => i + 1));
    expect(reloads.every((e) => e.result === 'applied' && e.action === 'ratelimit_config.reload')).toBe(true);
    const sums = reloads.map((e) => e.checksum);
    expect(new Set(sums).size).toBe(2);

    // The same content written again (a touch, a ConfigMap resync) makes no version.
    swapFile(file, RATELIMIT_A);
    edge.service.reloadRateLimitConfig();
    swapFile(file, RATELIMIT_A);
    edge.service.reloadRateLimitConfig();
    expect((await audit(edge, 'ratelimit_config')).length).toBe(FLIPS + 1);
  }, 60_000);
});
