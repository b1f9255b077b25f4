// envoyproxy/ratelimit's own config tests (test/config/config_test.go), ported case by case: the same
// rules (our fixtures in its format, test/vectors/envoy-ratelimit/, under its file names), the same request
// descriptors, the same expected limit, stats key, share_threshold pattern and load error. Each case names
// the peer's test it comes from.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConfigError } from '../../../src/lib/config-error.js';
import {
  findLimit,
  parseRateLimitConfig,
  wildcardMatch,
} from '../../../src/gateway/ratelimit-config/index.js';
import type { RateLimitConfig } from '../../../src/gateway/ratelimit-config/index.js';

const VECTORS = new URL('../../vectors/envoy-ratelimit/', import.meta.url);
const fixture = (name: string) => ({ name, text: readFileSync(new URL(name, VECTORS), 'utf8') });
const load = (...names: string[]) => parseRateLimitConfig(names.map(fixture));
const inline = (text: string, name = 'inline') => parseRateLimitConfig([{ name, text }]);

type Entries = [string, string][];
const get = (config: RateLimitConfig, domain: string, entries: Entries) =>
  findLimit(
    config,
    domain,
    entries.map(([key, value]) => ({ key, value })),
  );

describe('config_test.go: TestBasicConfig (basic_config.yaml)', () => {
  const config = load('basic_config.yaml');
  it.each<[Entries, number | null, number | null, string | null]>([
    // [request entries, requests_per_unit, unit, stats key]
    [[['key1', 'something']], null, null, null],
    [[['key1', 'value1']], null, null, null],
    [
      [
        ['key2', 'value2'],
        ['subkey', 'subvalue'],
      ],
      null,
      null,
      null,
    ],
    [
      [
        ['key5', 'value5'],
        ['subkey5', 'subvalue'],
      ],
      null,
      null,
      null,
    ],
    [
      [
        ['key1', 'value1'],
        ['subkey1', 'something'],
      ],
      5,
      1,
      'test-domain.key1_value1.subkey1',
    ],
    [
      [
        ['key1', 'value1'],
        ['subkey1', 'subvalue1'],
      ],
      10,
      1,
      'test-domain.key1_value1.subkey1_subvalue1',
    ],
    [[['key2', 'something']], 20, 2, 'test-domain.key2'],
    [[['key2', 'value2']], 30, 2, 'test-domain.key2_value2'],
    [[['key2', 'value3']], null, null, null],
    [[['key3', 'foo']], 1, 3, 'test-domain.key3'],
    [[['key4', 'foo']], 1, 4, 'test-domain.key4'],
    [[['key7', 'unspecified_value']], 70, 2, 'test-domain.key7_unspecified_value'],
    [[['key7', 'another_value']], 70, 2, 'test-domain.key7_another_value'],
  ])('%j → %s per unit %s, stats key %s', (entries, rpu, unit, statsKey) => {
    const match = get(config, 'test-domain', entries);
    if (rpu === null) {
      expect(match).toBeUndefined();
      return;
    }
    expect(match?.limit).toMatchObject({ requestsPerUnit: rpu, unit });
    expect(match?.metricKey).toBe(statsKey);
  });

  it('knows no limit for an unknown domain or an empty descriptor; names key4; key6 is unlimited', () => {
    expect(get(config, 'foo_domain', [])).toBeUndefined();
    expect(get(config, 'test-domain', [])).toBeUndefined();
    expect(get(config, 'test-domain', [['key3', 'foo']])?.limit.name).toBe('');
    expect(get(config, 'test-domain', [['key4', 'foo']])?.limit.name).toBe('key4_rate_limit');
    expect(get(config, 'test-domain', [['key6', 'foo']])?.limit.unlimited).toBe(true);
  });
});

describe('config_test.go: TestDomainMerge, TestDuplicateKeyDomainMerge (MERGE_DOMAIN_CONFIG)', () => {
  it('merges two files of one domain when asked', () => {
    const files = ['merge_domain_key1.yaml', 'merge_domain_key2.yaml'].map(fixture);
    const config = parseRateLimitConfig(files, { mergeDomains: true });
    expect(get(config, 'test-domain', [['key1', 'value1']])?.limit.requestsPerUnit).toBe(10);
    expect(get(config, 'test-domain', [['key2', 'value2']])?.limit.requestsPerUnit).toBe(20);
    expect(get(config, 'foo_domain', [])).toBeUndefined();
  });

  it('refuses the second file without it (TestDuplicateDomain)', () => {
    expect(() => load('merge_domain_key1.yaml', 'merge_domain_key2.yaml')).toThrow(
      "merge_domain_key2.yaml: domain: duplicate domain 'test-domain' in config file",
    );
  });

  it('still refuses a key both files define', () => {
    const files = ['merge_domain_key1.yaml', 'merge_domain_key1.yaml'].map(fixture);
    expect(() => parseRateLimitConfig(files, { mergeDomains: true })).toThrow(
      "duplicate descriptor composite key 'test-domain.key1_value1'",
    );
  });
});

describe('config_test.go: the load errors', () => {
  it.each([
    ['TestEmptyDomain', 'empty_domain.yaml', 'descriptors:\n', 'config file cannot have empty domain'],
    [
      'TestEmptyKey',
      'empty_key.yaml',
      'domain: test-domain\ndescriptors:\n  - value: value1\n',
      'descriptor has empty key',
    ],
    [
      'TestDuplicateKey',
      'duplicate_key.yaml',
      'domain: test-domain\ndescriptors:\n  - key: key1\n    value: value1\n  - key: key1\n    value: value1\n',
      "duplicate descriptor composite key 'test-domain.key1_value1'",
    ],
    [
      'TestBadLimitUnit',
      'bad_limit_unit.yaml',
      'domain: test-domain\ndescriptors:\n  - key: key1\n    value: value1\n    rate_limit:\n      unit: foo\n      requests_per_unit: 5\n',
      "invalid rate limit unit 'foo'",
    ],
    [
      'TestReplacesSelf',
      'replaces_self.yaml',
      'domain: test-domain\ndescriptors:\n  - key: key1\n    value: value1\n    descriptors:\n      - key: subkey1\n        rate_limit:\n          name: self\n          replaces:\n            - name: self\n          unit: second\n          requests_per_unit: 5\n',
      'replaces should not contain name of same descriptor',
    ],
    [
      'TestReplacesEmpty',
      'replaces_empty.yaml',
      'domain: test-domain\ndescriptors:\n  - key: key1\n    value: value1\n    descriptors:\n      - key: subkey1\n        rate_limit:\n          name: self\n          replaces:\n            - name:\n          unit: second\n          requests_per_unit: 5\n',
      'should not have an empty replaces entry',
    ],
    ['TestBadYaml', 'bad_yaml.yaml', "'''\n", 'error loading config file'],
    [
      'TestMisspelledKey',
      'misspelled_key.yaml',
      'domain: test-domain\ndescriptors:\n  - key: key1\n    value: value1\n    ratelimit:\n      unit: day\n      requests_per_unit: 5\n',
      "config error, unknown key 'ratelimit'",
    ],
    [
      'TestMisspelledKey',
      'misspelled_key2.yaml',
      'domain: test-domain\ndescriptors:\n  - key: key1\n    value: value1\n    rate_limit:\n      unit: day\n      requestsperunit: 5\n',
      "config error, unknown key 'requestsperunit'",
    ],
    // The peer says "key is not of type string: 0.25"; every YAML key is text to us, so it is unknown.
    [
      'TestNonStringKey',
      'non_string_key.yaml',
      '0.25: test-domain\ndescriptors:\n  - key: key1\n',
      "unknown key '0.25'",
    ],
    [
      'TestNonMapList',
      'non_map_list.yaml',
      'domain: test-domain\ndescriptors:\n  - a\n  - b\n',
      'config error, yaml file contains list of type other than map: "a"',
    ],
    [
      'TestUnlimitedWithRateLimitUnit',
      'unlimited_with_unit.yaml',
      'domain: test-domain\ndescriptors:\n  - key: foo\n    rate_limit:\n      unlimited: true\n      unit: day\n      requests_per_unit: 25\n',
      'should not specify rate limit unit when unlimited',
    ],
  ])('%s (%s): %j is refused with the file and the problem', (_test, name, text, message) => {
    expect(() => inline(text, name)).toThrow(ConfigError);
    expect(() => inline(text, name)).toThrow(`${name}: `);
    expect(() => inline(text, name)).toThrow(message);
  });
});

describe('config_test.go: TestShadowModeConfig (shadowmode_config.yaml)', () => {
  const config = load('shadowmode_config.yaml');
  it.each<[Entries, boolean, number, string]>([
    [
      [
        ['key1', 'value1'],
        ['subkey1', 'something'],
      ],
      false,
      5,
      'test-domain.key1_value1.subkey1',
    ],
    [
      [
        ['key1', 'value1'],
        ['subkey1', 'subvalue1'],
      ],
      true,
      10,
      'test-domain.key1_value1.subkey1_subvalue1',
    ],
    [[['key2', 'something']], true, 20, 'test-domain.key2'],
    [[['key2', 'value2']], false, 30, 'test-domain.key2_value2'],
  ])('%j: shadow_mode %s, %s per unit, stats key %s', (entries, shadow, rpu, key) => {
    const match = get(config, 'test-domain', entries);
    expect(match?.limit).toMatchObject({ shadowMode: shadow, requestsPerUnit: rpu });
    expect(match?.metricKey).toBe(key);
  });
});

describe('config_test.go: TestWildcardConfig (wildcard.yaml)', () => {
  const config = load('wildcard.yaml');
  it.each<[Entries, string | null]>([
    [[['noVal', 'foo1']], 'test-domain.noVal'],
    [[['noVal', 'foo2']], 'test-domain.noVal'],
    [[['wild', 'foo1']], 'test-domain.wild_foo*'],
    [[['wild', 'foo2']], 'test-domain.wild_foo*'],
    [
      [
        ['nestedWild', 'val1'],
        ['wild', 'goo2'],
      ],
      'test-domain.nestedWild_val1.wild_goo*',
    ],
    [[['wild', 'bar']], null],
    [[['noWild', 'foo1']], null],
    // Middle wildcard: prefix "bar" and suffix "b"; `*` matches the empty string too.
    [[['midWild', 'barab']], 'test-domain.midWild_bar*b'],
    [[['midWild', 'bar123b']], 'test-domain.midWild_bar*b'],
    [[['midWild', 'barb']], 'test-domain.midWild_bar*b'],
    [[['midWild', 'bara']], null],
    [[['midWild', 'xbarb']], null],
    // Several wildcards: foo…bar…baz in order.
    [[['multiWild', 'foo123bar456baz']], 'test-domain.multiWild_foo*bar*baz'],
    [[['multiWild', 'foobarbaz']], 'test-domain.multiWild_foo*bar*baz'],
    [[['multiWild', 'foo123baz']], null],
    [[['multiWild', 'bar456baz']], null],
  ])('%j → stats key %s', (entries, key) => {
    const match = get(config, 'test-domain', entries);
    if (key === null) expect(match).toBeUndefined();
    else {
      expect(match?.metricKey).toBe(key);
      expect(match?.limit.fullKey).toBe(key);
    }
  });
});

describe('config_test.go: TestDetailedMetric', () => {
  const nestedNoValues = (outer: boolean, inner: boolean) => `
domain: nested
descriptors:
  - key: key-1
    detailed_metric: ${outer}
    rate_limit: {unit: minute, requests_per_unit: 100}
    descriptors:
      - key: key-2
        detailed_metric: ${inner}
        rate_limit: {unit: minute, requests_per_unit: 5}
`;
  const realistic = `
domain: nested
descriptors:
  - key: key_1
    detailed_metric: true
    rate_limit: {unit: minute, requests_per_unit: 500}
  - key: key_1
    value: some-value-for-key-1
    rate_limit: {unit: minute, requests_per_unit: 500}
  - key: key_2
    detailed_metric: true
    rate_limit: {unit: minute, requests_per_unit: 5000}
    descriptors:
      - key: key_3
        detailed_metric: true
      - key: key_3
        value: requested-key3-value
        detailed_metric: true
        rate_limit: {unit: minute, requests_per_unit: 5}
  - key: key_2
    value: specific-id
    detailed_metric: true
    rate_limit: {unit: minute, requests_per_unit: 50000}
    descriptors:
      - key: key_3
        detailed_metric: true
      - key: key_3
        value: requested-key3-value
        detailed_metric: true
        rate_limit: {unit: minute, requests_per_unit: 100}
`;
  it.each<[string, string, Entries, string]>([
    [
      'nested with no values but request only top-level key',
      nestedNoValues(true, false),
      [['key-1', 'value-1']],
      'nested.key-1_value-1',
    ],
    [
      'nested with no values but request only top-level key with no detailed metric',
      nestedNoValues(false, false),
      [['key-1', 'value-1']],
      'nested.key-1',
    ],
    [
      'nested with no values and request fully nested descriptors',
      nestedNoValues(true, true),
      [
        ['key-1', 'value-1'],
        ['key-2', 'value-2'],
      ],
      'nested.key-1_value-1.key-2_value-2',
    ],
    [
      'nested with no values and request fully nested descriptors with no detailed metric',
      nestedNoValues(false, false),
      [
        ['key-1', 'value-1'],
        ['key-2', 'value-2'],
      ],
      'nested.key-1.key-2',
    ],
    [
      'test nested descriptors with simple request',
      realistic,
      [['key_1', 'value-for-key-1']],
      'nested.key_1_value-for-key-1',
    ],
    [
      'test nested only second descriptor request not nested',
      realistic,
      [['key_2', 'key-2-value']],
      'nested.key_2_key-2-value',
    ],
    [
      'test nested descriptors with nested request',
      realistic,
      [
        ['key_2', 'key-2-value'],
        ['key_3', 'requested-key3-value'],
      ],
      'nested.key_2_key-2-value.key_3_requested-key3-value',
    ],
  ])('%s', (_name, yaml, entries, key) => {
    expect(get(inline(yaml), 'nested', entries)?.metricKey).toBe(key);
  });
});

describe('config_test.go: TestValueToMetric_*', () => {
  /** Nested key-only descriptors with per-level extra lines, the last one holding the limit. */
  const chain = (flags: [string, string][], leaf: string, leafExtra = '') => {
    let yaml = '';
    let indent = '  ';
    for (const [key, extra] of flags) {
      yaml += `${indent}- key: ${key}\n${extra ? `${indent}  ${extra}\n` : ''}${indent}  descriptors:\n`;
      indent += '    ';
    }
    const more = leafExtra ? `${indent}  ${leafExtra}\n` : '';
    return `${yaml}${indent}- key: ${leaf}\n${more}${indent}  rate_limit: {unit: minute, requests_per_unit: 60}\n`;
  };
  const routeMethodSubject = (leafExtra = '') =>
    `domain: domain\ndescriptors:\n${chain(
      [
        ['route', 'value_to_metric: true'],
        ['http_method', 'value_to_metric: true'],
      ],
      'subject_id',
      leafExtra,
    )}`;

  it.each<[string, string, string, Entries, string]>([
    [
      'TestValueToMetric_UsesRuntimeValuesInStats',
      routeMethodSubject(),
      'domain',
      [
        ['route', 'draw'],
        ['http_method', 'GET'],
        ['subject_id', '123'],
      ],
      'domain.route_draw.http_method_GET.subject_id',
    ],
    [
      'TestValueToMetric_DefaultKeyIncludesValueAtThatLevel',
      `domain: d\ndescriptors:\n${chain([['k1', 'value_to_metric: true']], 'k2')}`,
      'd',
      [
        ['k1', 'A'],
        ['k2', 'foo'],
      ],
      'd.k1_A.k2',
    ],
    [
      'TestValueToMetric_MidLevelOnly',
      `domain: d\ndescriptors:\n${chain(
        [
          ['k1', ''],
          ['k2', 'value_to_metric: true'],
        ],
        'k3',
      )}`,
      'd',
      [
        ['k1', 'X'],
        ['k2', 'Y'],
        ['k3', 'Z'],
      ],
      'd.k1.k2_Y.k3',
    ],
    [
      'TestValueToMetric_NoFlag_Unchanged',
      `domain: d\ndescriptors:\n${chain([['k1', '']], 'k2')}`,
      'd',
      [
        ['k1', 'X'],
        ['k2', 'Y'],
      ],
      'd.k1.k2',
    ],
    [
      'TestValueToMetric_DoesNotOverrideDetailedMetric',
      routeMethodSubject('detailed_metric: true'),
      'domain',
      [
        ['route', 'draw'],
        ['http_method', 'GET'],
        ['subject_id', '123'],
      ],
      'domain.route_draw.http_method_GET.subject_id_123',
    ],
    [
      'TestValueToMetric_WithEmptyValue (route empty)',
      routeMethodSubject(),
      'domain',
      [
        ['route', ''],
        ['http_method', 'GET'],
        ['subject_id', '123'],
      ],
      'domain.route.http_method_GET.subject_id',
    ],
    [
      'TestValueToMetric_WithEmptyValue (http_method empty)',
      routeMethodSubject(),
      'domain',
      [
        ['route', 'draw'],
        ['http_method', ''],
        ['subject_id', '123'],
      ],
      'domain.route_draw.http_method.subject_id',
    ],
    [
      'TestValueToMetric_WithEmptyValue (both empty)',
      routeMethodSubject(),
      'domain',
      [
        ['route', ''],
        ['http_method', ''],
        ['subject_id', '123'],
      ],
      'domain.route.http_method.subject_id',
    ],
  ])('%s', (_name, yaml, domain, entries, key) => {
    expect(get(inline(yaml), domain, entries)?.metricKey).toBe(key);
  });

  it('TestValueToMetric_WithConfiguredValues: a configured value shows itself', () => {
    const config = inline(`
domain: test-domain
descriptors:
  - key: route
    value_to_metric: true
    descriptors:
      - key: http_method
        value: GET
        value_to_metric: true
        descriptors:
          - key: subject_id
            rate_limit: {unit: minute, requests_per_unit: 60}
      - key: http_method
        value: POST
        value_to_metric: true
        descriptors:
          - key: subject_id
            rate_limit: {unit: minute, requests_per_unit: 30}
`);
    const get3 = (method: string, subject: string) =>
      get(config, 'test-domain', [
        ['route', 'api'],
        ['http_method', method],
        ['subject_id', subject],
      ]);
    expect(get3('GET', 'user123')).toMatchObject({
      limit: { requestsPerUnit: 60 },
      metricKey: 'test-domain.route_api.http_method_GET.subject_id',
    });
    expect(get3('POST', 'user456')).toMatchObject({
      limit: { requestsPerUnit: 30 },
      metricKey: 'test-domain.route_api.http_method_POST.subject_id',
    });
  });

  it('TestValueToMetric_WithWildcard: the runtime value replaces the pattern', () => {
    const config = inline(`
domain: domain
descriptors:
  - key: user
    value_to_metric: true
    descriptors:
      - key: action
        value: read*
        value_to_metric: true
        descriptors:
          - key: resource
            rate_limit: {unit: minute, requests_per_unit: 100}
`);
    const entries: Entries = [
      ['user', 'alice'],
      ['action', 'readfile'],
      ['resource', 'documents'],
    ];
    expect(get(config, 'domain', entries)?.metricKey).toBe('domain.user_alice.action_readfile.resource');
    entries[0] = ['user', 'bob'];
    entries[1] = ['action', 'readdata'];
    expect(get(config, 'domain', entries)?.metricKey).toBe('domain.user_bob.action_readdata.resource');
  });
});

describe('config_test.go: TestShareThreshold (share_threshold.yaml)', () => {
  const config = load('share_threshold.yaml');
  it.each<[string, Entries, number, string, (string | undefined)[] | undefined]>([
    ['Basic', [['files', 'files/a.pdf']], 100, 'test-domain.files_files/*', ['files/*']],
    ['Basic', [['files', 'files/b.csv']], 100, 'test-domain.files_files/*', ['files/*']],
    [
      'with value_to_metric',
      [
        ['route', 'api/v1'],
        ['method', 'GET'],
      ],
      60,
      'test-domain.route_api/*.method',
      ['api/*', undefined],
    ],
    [
      'with detailed_metric',
      [
        ['service', 'svc/user'],
        ['endpoint', 'get'],
      ],
      80,
      'test-domain.service_svc/*.endpoint_get',
      ['svc/*', undefined],
    ],
    [
      'nested',
      [
        ['nested', 'parent'],
        ['files', 'nested/file1.txt'],
      ],
      200,
      'test-domain.nested_parent.files_nested/*',
      [undefined, 'nested/*'],
    ],
    [
      'same key at two levels',
      [
        ['files', 'top/file1.txt'],
        ['files', 'nested/file1.txt'],
      ],
      300,
      'test-domain.files_top/*.files_nested/*',
      ['top/*', 'nested/*'],
    ],
    [
      'parent shared, child wildcard not',
      [
        ['path', 'path/foo'],
        ['file', 'file/doc1'],
        ['type', 'pdf'],
      ],
      120,
      'test-domain.path_path/*.file_file/*.type',
      ['path/*', undefined, undefined],
    ],
    [
      'both shared',
      [
        ['user', 'user/alice'],
        ['resource', 'res/file1'],
        ['action', 'read'],
      ],
      150,
      'test-domain.user_user/*.resource_res/*.action',
      ['user/*', 'res/*', undefined],
    ],
    ['explicit value beats the wildcard', [['file', 'test1']], 50, 'test-domain.file_test1', undefined],
    ['wildcard beside an explicit value', [['file', 'test23']], 100, 'test-domain.file_test*', ['test*']],
    ['middle wildcard', [['midpath', '/api-beta-v1']], 100, 'test-domain.midpath_/api*v1', ['/api*v1']],
    [
      'several wildcards',
      [['multiroute', 'svceprpc']],
      50,
      'test-domain.multiroute_svc*ep*rpc',
      ['svc*ep*rpc'],
    ],
    [
      'middle wildcard over value_to_metric',
      [['midroute', '/api-beta-v2']],
      80,
      'test-domain.midroute_/api*v2',
      ['/api*v2'],
    ],
    [
      'nested middle wildcards',
      [
        ['tenant', 't99prod'],
        ['resource', 'resBBBv2'],
      ],
      60,
      'test-domain.tenant_t*prod.resource_res*v2',
      ['t*prod', 'res*v2'],
    ],
  ])('%s: %j', (_case, entries, rpu, key, shared) => {
    const match = get(config, 'test-domain', entries);
    expect(match?.limit.requestsPerUnit).toBe(rpu);
    expect(match?.metricKey).toBe(key);
    expect(match?.sharedValues).toEqual(shared);
  });

  it('does not match values outside the pattern', () => {
    expect(get(config, 'test-domain', [['midpath', '/api/v2']])).toBeUndefined();
    expect(get(config, 'test-domain', [['multiroute', 'svcABCrpc']])).toBeUndefined();
  });

  it('refuses share_threshold on a value without a wildcard', () => {
    expect(() =>
      inline(
        'domain: d\ndescriptors:\n  - key: k\n    value: v\n    share_threshold: true\n    rate_limit: {unit: second, requests_per_unit: 1}\n',
      ),
    ).toThrow("share_threshold can only be used with wildcard values (containing '*'), but found key 'k_v'");
  });
});

describe('config_test.go: TestWildcardStatsBehavior', () => {
  const one = (value: string, flags: string) =>
    inline(
      `domain: test-domain\ndescriptors:\n  - key: wild\n    value: "${value}"\n${flags}    rate_limit: {unit: minute, requests_per_unit: 20}\n`,
    );
  it.each<[string, string, string, string]>([
    ['foo*', '', 'foo1', 'test-domain.wild_foo*'],
    ['foo*', '    value_to_metric: true\n', 'foo1', 'test-domain.wild_foo1'],
    ['foo*', '    share_threshold: true\n', 'foo1', 'test-domain.wild_foo*'],
    ['foo*', '    share_threshold: true\n    value_to_metric: true\n', 'foo1', 'test-domain.wild_foo*'],
    ['foo*bar*', '', 'foo123bar456', 'test-domain.wild_foo*bar*'],
    ['foo*bar*', '', 'fooXbarY', 'test-domain.wild_foo*bar*'],
    ['foo*bar*', '    value_to_metric: true\n', 'foo123bar456', 'test-domain.wild_foo123bar456'],
  ])('pattern %s with %j, value %s → %s', (pattern, flags, value, key) => {
    expect(get(one(pattern, flags), 'test-domain', [['wild', value]])?.metricKey).toBe(key);
  });

  it('value_to_metric in another descriptor keeps the wildcard pattern', () => {
    const config = inline(`
domain: test-domain
descriptors:
  - key: wild
    value: foo*
    descriptors:
      - key: other
        value_to_metric: true
        descriptors:
          - key: limit
            rate_limit: {unit: minute, requests_per_unit: 20}
`);
    expect(
      get(config, 'test-domain', [
        ['wild', 'foo1'],
        ['other', 'bar'],
        ['limit', 'X'],
      ])?.metricKey,
    ).toBe('test-domain.wild_foo*.other_bar.limit');
  });
});

describe('config_test.go: TestMetadata (metadata.yaml)', () => {
  it('keeps each descriptor’s metadata with its limit, typed', () => {
    const config = load('metadata.yaml');
    const sub = get(config, 'test-domain', [
      ['key1', 'value1'],
      ['subkey1', 'something'],
    ]);
    expect(sub).toMatchObject({ limit: { requestsPerUnit: 5, unit: 1 } });
    expect(sub?.metricKey).toBe('test-domain.key1_value1.subkey1');
    expect(sub?.limit.metadata).toEqual({ name: 'service_1' });
    const key2 = get(config, 'test-domain', [['key2', 'something']]);
    expect(key2?.limit).toMatchObject({ requestsPerUnit: 20, unit: 2 });
    expect(key2?.limit.metadata).toEqual({ service_with_quota: { name: 'service_2' } });
    const typed = inline(
      'domain: d\ndescriptors:\n  - key: k\n    metadata: {n: 3, b: true, s: x, l: [1, two]}\n    rate_limit: {unit: second, requests_per_unit: 1}\n',
    );
    expect(get(typed, 'd', [['k', 'v']])?.limit.metadata).toEqual({ n: 3, b: true, s: 'x', l: [1, 'two'] });
  });
});

describe('what the peer accepts and we do not yet', () => {
  it('refuses unit: week saying it is not supported yet, naming file and key', () => {
    expect(() =>
      inline('domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: week, requests_per_unit: 1}\n'),
    ).toThrow(
      "inline: descriptors[0].rate_limit.unit: unit 'week' is accepted by envoyproxy/ratelimit but not supported yet",
    );
  });
});

describe('keys the peer documents load, never as "unknown key"', () => {
  it.each(['quota_mode', 'value_to_metric', 'detailed_metric', 'shadow_mode'])('%s: true', (key) => {
    const config = inline(
      `domain: d\ndescriptors:\n  - key: k\n    ${key}: true\n    rate_limit: {unit: second, requests_per_unit: 1}\n`,
    );
    expect(get(config, 'd', [['k', 'v']])).toBeDefined();
  });

  it('quota_mode reaches the limit', () => {
    const config = inline(
      'domain: d\ndescriptors:\n  - key: k\n    quota_mode: true\n    rate_limit: {unit: second, requests_per_unit: 1}\n',
    );
    expect(get(config, 'd', [['k', 'v']])?.limit.quotaMode).toBe(true);
  });
});

describe('wildcardMatch (wildcardMatch in config_impl.go)', () => {
  /** Reference: the pattern as a regular expression, each `*` any run of characters. */
  const reference = (pattern: string, value: string) =>
    new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('[\\s\\S]*')}$`,
    ).test(value);

  it('agrees with a regular expression for any pattern and value (property)', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '*', '_'), maxLength: 8 });
    fc.assert(
      fc.property(
        text,
        fc.string({ unit: fc.constantFrom('a', 'b', '_'), maxLength: 10 }),
        (pattern, value) => {
          expect(wildcardMatch(pattern.split('*'), value)).toBe(reference(pattern, value));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
