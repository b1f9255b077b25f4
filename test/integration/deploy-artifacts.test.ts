// The shipped deployment files, checked with the tools that read them: Debian's promtool for the alert rules
// (check and unit tests), and the service's own metric registry for every rls_* name the alerts and the Grafana
// dashboard query, so a renamed metric breaks this test instead of a dashboard. Helm is not installed here:
// its templates are checked for values that do not exist, and its values files and manifests are parsed.

import { execFileSync } from 'node:child_process';
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
    for (const name of ['rls_decisions_total', 'rls_would_deny_total', 'rls_enforcement_mode'])
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
    ]);
    const deployment = JSON.stringify(docs[2]);
    expect(deployment).toContain('"readOnlyRootFilesystem":true');
    expect(deployment).toContain('"runAsNonRoot":true');
    expect(deployment).toContain('"path":"/api/health"');
  });
});
