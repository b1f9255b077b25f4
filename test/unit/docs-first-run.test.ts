// What a first-time operator reads must match what the service does: the default REMOTE_WRITE_PATHS in
// docs/operations.md is the one --help prints, and docs/prometheus.md says which UPSTREAM_HEALTH_PATH a
// plain Prometheus upstream needs (Mimir's default /ready is a 404 there).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTING_DEFINITIONS, settingsHelp } from '../../src/settings/settings.js';
import { repoRoot } from '../helpers/service.js';

const doc = (name: string) => readFileSync(join(repoRoot, 'docs', name), 'utf8');

describe('first-run docs', () => {
  it('docs/operations.md names every default REMOTE_WRITE_PATHS path that --help prints', () => {
    const def = SETTING_DEFINITIONS.find((d) => d.env === 'REMOTE_WRITE_PATHS')!;
    const paths = String(def.defaultValue).split(',');
    expect(settingsHelp()).toContain(String(def.defaultValue));
    const sentence = /`REMOTE_WRITE_PATHS` \(default ([^)]*)\)/s.exec(doc('operations.md'))?.[1] ?? '';
    const documented = [...sentence.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    expect(documented).toEqual(paths);
  });

  it('docs/prometheus.md gives the health path a plain Prometheus upstream answers', () => {
    expect(doc('prometheus.md')).toContain('UPSTREAM_HEALTH_PATH=/-/ready');
  });
});
