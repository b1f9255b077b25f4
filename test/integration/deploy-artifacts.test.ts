// The shipped deployment files, checked with the tools that read them: Debian's promtool for the alert rules
// (check and unit tests), and the service's own metric registry for every rls_* name the alerts and the Grafana
// dashboard query, so a renamed metric breaks this test instead of a dashboard. Helm is not installed here:
// its templates are checked for values that do not exist, and its values files and manifests are parsed. When a
// `helm` binary is on PATH, the chart is also rendered and its NetworkPolicy checked like the manifests' one:
// the proxy port open to senders, ext_authz, admin, rate limit and metrics only to the named peers.

import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { EdgeMetrics } from '../../src/observe/metrics.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { repoRoot } from '../helpers/service.js';

const deploy = join(repoRoot, 'deploy');
const chart = join(deploy, 'helm', 'mimir-edge-enforcement');
let promtool = '';
let exported: Set<string>;

function run(args: string[], cwd: string): string {
  try {
    return execFileSync(promtool, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

/** rls_* names in a PromQL text, with the histogram suffixes mapped to their metric. */
function metricNames(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\brls_[a-z_]+/g)) names.add(m[0].replace(/_(bucket|sum|count)$/, ''));
  return [...names].sort();
}

beforeAll(async () => {
  promtool = requireDebianBinary('promtool', 'prometheus');
  const text = await new EdgeMetrics(false).registry.metrics();
  exported = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!));
});

describe('Prometheus alert rules (deploy/prometheus)', () => {
  it('pass promtool check rules', () => {
    expect(run(['check', 'rules', 'alerts.yaml'], join(deploy, 'prometheus'))).toMatch(
      /SUCCESS: \d+ rules found/,
    );
  });

  it('fire as their unit tests say (promtool test rules)', () => {
    expect(run(['test', 'rules', 'alerts.test.yaml'], join(deploy, 'prometheus'))).toMatch(/SUCCESS/);
  });

  it('cover the cases the issue names', () => {
    const groups = parse(readFileSync(join(deploy, 'prometheus', 'alerts.yaml'), 'utf8')) as {
      groups: { rules: { alert: string }[] }[];
    };
    const alerts = groups.groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const name of [
      'EdgeHighDenyRate',
      'EdgeDecisionLatencyHigh',
      'EdgeStoreFallback',
      'EdgeLimitsStale',
      'EdgeUpstreamErrors',
    ])
      expect(alerts).toContain(name);
  });

  it('query only metrics the service exports', () => {
    const used = metricNames(readFileSync(join(deploy, 'prometheus', 'alerts.yaml'), 'utf8'));
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((n) => !exported.has(n))).toEqual([]);
  });
});

describe('Grafana dashboard (deploy/grafana)', () => {
  const dashboard = JSON.parse(
    readFileSync(join(deploy, 'grafana', 'mimir-edge-enforcement.json'), 'utf8'),
  ) as {
    uid: string;
    panels: { id: number; type: string; title: string; targets?: { expr: string }[] }[];
  };

  it('queries only metrics the service exports, in every panel', () => {
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(15);
    expect(metricNames(exprs.join('\n')).filter((n) => !exported.has(n))).toEqual([]);
    for (const name of [
      'rls_decisions_total',
      'rls_would_deny_total',
      'rls_enforcement_mode',
      'rls_policy_blocks_active',
      'rls_policy_blocks_total',
    ])
      expect(
        exprs.some((e) => e.includes(name)),
        `a panel for ${name}`,
      ).toBe(true);
  });

  it('has unique panel ids and every query panel has a query', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels.filter((p) => p.type !== 'row'))
      expect(p.targets?.length ?? 0, `panel "${p.title}"`).toBeGreaterThan(0);
  });
});

describe('Helm chart and Kubernetes manifests', () => {
  const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;

  function has(path: string[], obj: unknown): boolean {
    let at: unknown = obj;
    for (const key of path) {
      if (typeof at !== 'object' || at === null || !(key in at)) return false;
      at = (at as Record<string, unknown>)[key];
    }
    return true;
  }

  it('templates use only values that values.yaml defines', () => {
    const missing: string[] = [];
    for (const file of readdirSync(join(chart, 'templates'))) {
      const text = readFileSync(join(chart, 'templates', file), 'utf8');
      for (const m of text.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)) {
        const path = m[1]!.split('.');
        if (!has(path, values)) missing.push(`${file}: .Values.${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('environment values files only set keys values.yaml documents', () => {
    const unknown: string[] = [];
    const walk = (obj: Record<string, unknown>, prefix: string[], file: string) => {
      for (const [key, value] of Object.entries(obj)) {
        const path = [...prefix, key];
        if (!has(path, values)) unknown.push(`${file}: ${path.join('.')}`);
        else if (
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          !['resources', 'requests', 'limits'].includes(key)
        )
          walk(value as Record<string, unknown>, path, file);
      }
    };
    for (const env of ['dev', 'staging', 'production']) {
      const file = `values-${env}.yaml`;
      walk(parse(readFileSync(join(chart, file), 'utf8')) as Record<string, unknown>, [], file);
    }
    expect(unknown).toEqual([]);
  });

  it('the plain manifests parse, run as non-root on a read-only root and probe /api/health', () => {
    const docs = parseAllDocuments(
      readFileSync(join(deploy, 'kubernetes', 'mimir-edge-enforcement.yaml'), 'utf8'),
    ).map((d) => d.toJS() as { kind: string; spec?: Record<string, unknown> });
    expect(docs.map((d) => d.kind)).toEqual([
      'Namespace',
      'ConfigMap',
      'Deployment',
      'Service',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'NetworkPolicy',
    ]);
    const deployment = JSON.stringify(docs[2]);
    expect(deployment).toContain('"readOnlyRootFilesystem":true');
    expect(deployment).toContain('"runAsNonRoot":true');
    expect(deployment).toContain('"path":"/api/health"');
  });
});

interface PolicyPeer {
  podSelector?: unknown;
  namespaceSelector?: unknown;
  ipBlock?: unknown;
}
interface IngressRule {
  ports?: { port: string | number; protocol?: string }[];
  from?: PolicyPeer[];
}
interface K8sObject {
  kind: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: {
    podSelector?: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: IngressRule[];
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: { containers?: { name: string; ports?: { name: string }[] }[] };
    };
  };
}

/** The ports that must admit only named peers, by container port name. */
const RESTRICTED = ['ext-authz', 'admin', 'ratelimit', 'metrics'];

/**
 * The rules a NetworkPolicy must keep, whatever renders it: it selects the Deployment's pods, filters ingress,
 * every rule names its ports (a rule without ports would open every port), the proxy admits everyone, and each
 * restricted port is admitted only by rules with a non-empty `from`. Returns the `from` list per port.
 */
function checkNetworkPolicy(policy: K8sObject, deployment: K8sObject): Map<string, PolicyPeer[][]> {
  const podLabels = deployment.spec!.template!.metadata!.labels!;
  const selector = policy.spec!.podSelector!.matchLabels!;
  for (const [k, v] of Object.entries(selector)) expect(podLabels[k], `pod label ${k}`).toBe(v);
  expect(policy.spec!.policyTypes).toContain('Ingress');
  const containerPorts = new Set(
    deployment.spec!.template!.spec!.containers!.flatMap((c) => (c.ports ?? []).map((p) => p.name)),
  );
  const byPort = new Map<string, PolicyPeer[][]>();
  for (const rule of policy.spec!.ingress ?? []) {
    expect(
      rule.ports?.length ?? 0,
      `a rule without ports opens every port: ${JSON.stringify(rule)}`,
    ).toBeGreaterThan(0);
    for (const p of rule.ports!) {
      expect(typeof p.port, 'ports by container port name, so changed numbers follow').toBe('string');
      expect(containerPorts, `port ${p.port} is a container port`).toContain(p.port);
      byPort.set(String(p.port), [...(byPort.get(String(p.port)) ?? []), rule.from ?? []]);
    }
  }
  expect(byPort.get('proxy'), 'the proxy port admits every sender').toEqual([[]]);
  for (const port of RESTRICTED)
    for (const from of byPort.get(port) ?? [])
      expect(from.length, `${port} is admitted only from named peers`).toBeGreaterThan(0);
  return byPort;
}

describe('NetworkPolicy (SECURITY.md relies on it)', () => {
  const manifests = parseAllDocuments(
    readFileSync(join(deploy, 'kubernetes', 'mimir-edge-enforcement.yaml'), 'utf8'),
  ).map((d) => d.toJS() as K8sObject);
  const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as {
    networkPolicy: Record<string, unknown> & { enabled: boolean };
  };

  it('ships in the plain manifests: proxy open to senders, 8081/8082/8083/9090 only to named peers', () => {
    const policy = manifests.find((d) => d.kind === 'NetworkPolicy')!;
    const deployment = manifests.find((d) => d.kind === 'Deployment')!;
    expect(policy).toBeDefined();
    const byPort = checkNetworkPolicy(policy, deployment);
    for (const port of RESTRICTED)
      expect(byPort.get(port)?.length ?? 0, `a rule for ${port}`).toBeGreaterThan(0);
  });

  it('is on by default in the chart, with the same peers as the manifests', () => {
    expect(values.networkPolicy.enabled).toBe(true);
    const policy = manifests.find((d) => d.kind === 'NetworkPolicy')!;
    const fromOf = (port: string) =>
      policy.spec!.ingress!.find((r) => r.ports!.some((p) => p.port === port))!.from;
    expect(values.networkPolicy.proxyFrom).toEqual([]);
    expect(values.networkPolicy.extAuthzFrom).toEqual(fromOf('ext-authz'));
    expect(values.networkPolicy.ratelimitFrom).toEqual(fromOf('ratelimit'));
    expect(values.networkPolicy.adminFrom).toEqual(fromOf('admin'));
    expect(values.networkPolicy.metricsFrom).toEqual(fromOf('metrics'));
  });

  it('the chart template emits a restricted port only with its from list, and names only container ports', () => {
    const template = readFileSync(join(chart, 'templates', 'networkpolicy.yaml'), 'utf8');
    expect(template).toMatch(/\{\{-? if \.Values\.networkPolicy\.enabled \}\}/);
    for (const [port, list] of [
      ['ext-authz', 'extAuthzFrom'],
      ['ratelimit', 'ratelimitFrom'],
      ['admin', 'adminFrom'],
      ['metrics', 'metricsFrom'],
    ] as const) {
      // The rule for the port sits inside `with` its list: an empty list renders no rule, so the port is closed.
      const rule = new RegExp(
        `\\{\\{-? with \\$np\\.${list} \\}\\}[^{]*?- ports:\\s*- \\{ port: ${port}, protocol: TCP \\}\\s*from:`,
      );
      expect(template, `${port} rule guarded by ${list}`).toMatch(rule);
    }
    const deploymentTemplate = readFileSync(join(chart, 'templates', 'deployment.yaml'), 'utf8');
    for (const m of template.matchAll(/port: ([a-z-]+), protocol/g))
      expect(deploymentTemplate, `container port ${m[1]}`).toContain(`name: ${m[1]}, containerPort:`);
  });

  const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!helm)(
    'renders from the chart (helm template) with the same rules, sidecar Envoy included',
    () => {
      for (const extra of [[], ['--set', 'envoy.enabled=true', '--set', 'envoy.configMap=envoy']]) {
        const text = execFileSync('helm', ['template', 'edge', chart, ...extra], { encoding: 'utf8' });
        const docs = parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
        const policy = docs.find((d) => d?.kind === 'NetworkPolicy')!;
        const byPort = checkNetworkPolicy(
          policy,
          docs.find((d) => d?.kind === 'Deployment')!,
        );
        for (const port of RESTRICTED) expect(byPort.get(port)?.length ?? 0).toBeGreaterThan(0);
        if (extra.length > 0) expect(byPort.get('envoy')).toEqual([[]]);
      }
      const off = execFileSync('helm', ['template', 'edge', chart, '--set', 'networkPolicy.enabled=false'], {
        encoding: 'utf8',
      });
      expect(off).not.toContain('kind: NetworkPolicy');
    },
  );
});
