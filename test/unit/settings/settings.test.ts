import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../../src/settings/settings.js';

describe('settings', () => {
  it('uses the documented defaults and ports', () => {
    const s = loadSettings({}, []);
    expect(s.ports).toEqual({ proxy: 8080, extAuthz: 8081, admin: 8082, ratelimit: 8083, metrics: 9090 });
    expect(s.tenantHeader).toBe('x-scope-orgid');
    expect(s.maxRequestBytes).toBe(52428800);
    expect(s.defaultLimits.ingestion_rate).toBe(10000);
    expect(s.defaultLimits.ingestion_burst_size).toBe(200000);
    expect(s.defaultLimits.max_label_names_per_series).toBe(30);
    expect(s.remoteWritePaths).toEqual(['/api/v1/push', '/api/v1/write', '/otlp/v1/metrics']);
  });

  it('takes flags over env vars over the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'settings-'));
    const file = join(dir, 'edge.yaml');
    writeFileSync(
      file,
      'proxy_port: 1111\nadmin_port: 2222\nmetrics_port: 3333\ndefaults:\n  ingestion_rate: 5\nenforcement:\n  team-a:\n    ingestion_rate: false\n',
    );
    const s = loadSettings({ CONFIG_FILE: file, ADMIN_PORT: '4444', DEFAULT_SAMPLES_PER_SECOND: '7' }, [
      '--proxy-port',
      '5555',
    ]);
    expect(s.ports.proxy).toBe(5555);
    expect(s.ports.admin).toBe(4444);
    expect(s.ports.metrics).toBe(3333);
    expect(s.defaultLimits.ingestion_rate).toBe(7);
    expect(s.tenantEnforcement.get('team-a')).toEqual({ enabled: true, limits: { ingestion_rate: false } });
  });

  it('reads a bool flag without a value when another flag follows', () => {
    const s = loadSettings({}, ['--dry-run', '--proxy-port', '1234', '--tenant-from-basic-auth']);
    expect(s.dryRun).toBe(true);
    expect(s.ports.proxy).toBe(1234);
    expect(s.tenantFromBasicAuth).toBe(true);
    expect(loadSettings({}, ['--dry-run=false']).dryRun).toBe(false);
  });

  it.each([
    [{ MAX_REQUEST_BYTES: '0' }, [], 'MAX_REQUEST_BYTES: must be at least 1'],
    [{ PROXY_PORT: 'eighty' }, [], 'environment: PROXY_PORT: must be a whole number >= 0, got "eighty"'],
    [{ PROXY_PORT: '70000' }, [], 'must be a port number'],
    [{ UPSTREAM_URL: 'mimir:8080' }, [], 'UPSTREAM_URL'],
    [{ FAILURE_MODE_ALLOW: 'maybe' }, [], 'FAILURE_MODE_ALLOW: must be true or false'],
    [{ DEFAULT_SAMPLES_PER_SECOND: '-3' }, [], 'DEFAULT_SAMPLES_PER_SECOND: must be >= 0'],
    [{ LOG_FORMAT: 'xml' }, [], 'LOG_FORMAT: must be one of json, text'],
    [{}, ['--no-such-flag'], 'unknown flag'],
    [{ OVERRIDES_RELOAD_INTERVAL: 'soon' }, [], 'must be a duration'],
  ])('refuses %j %j naming the setting and value', (env, argv, message) => {
    expect(() => loadSettings(env as NodeJS.ProcessEnv, argv as string[])).toThrow(message);
  });
});

describe('a URL setting with credentials', () => {
  it('is refused without echoing its password (issue 22, finding 11)', () => {
    let message = '';
    try {
      loadSettings({ UPSTREAM_URL: 'http://user:s3cret@mimir:99999' }, []);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('UPSTREAM_URL');
    expect(message).toContain('http://mimir:99999');
    expect(message).not.toContain('s3cret');
  });
});
