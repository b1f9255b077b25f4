// deploy/envoy/envoy.yaml cannot be run here (Envoy is not installable), so it is checked against what Envoy
// would check: its shape against Envoy's v3 protos (unknown or deprecated fields, enum names, Durations,
// oneofs, every `@type`), and its wiring against the edge: the filter options the issue names, the gRPC
// clusters on the edge's default ports with HTTP/2 and the right health-check services, every remote-write path
// reaching ext_authz, and a RATELIMIT_CONFIG whose domain is the one the filter sends.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SETTING_DEFINITIONS, parseDuration } from '../../src/settings/settings.js';
import { findLimit, readRateLimitConfig } from '../../src/gateway/ratelimit-config/index.js';
import { EXT_AUTHZ_SERVICE } from '../../src/gateway/ext-authz/ext-authz-service.js';
import { RATELIMIT_SERVICE } from '../../src/gateway/ratelimit/ratelimit-service.js';
import { checkAgainstProto, loadEnvoyProtos } from '../helpers/envoy-config-check.js';
import { repoRoot } from '../helpers/service.js';
import type protobuf from 'protobufjs';

const ENVOY_DIR = join(repoRoot, 'deploy', 'envoy');
const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const EXT_AUTHZ_FILTER = 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const RATELIMIT_FILTER = 'envoy.extensions.filters.http.ratelimit.v3.RateLimit';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/* eslint-disable @typescript-eslint/no-explicit-any -- a parsed YAML document, walked by the proto checker first */
type Doc = any;

function setting(env: string): string {
  const def = SETTING_DEFINITIONS.find((d) => d.env === env);
  if (!def) throw new Error(`no setting ${env}`);
  return def.defaultValue;
}

let root: protobuf.Root;
let doc: Doc;

const load = (): Doc => parse(readFileSync(join(ENVOY_DIR, 'envoy.yaml'), 'utf8')) as Doc;
const typeOf = (typed: Doc): string => String(typed?.['@type'] ?? '').replace(/^type\.googleapis\.com\//, '');
const hcmOf = (d: Doc): Doc =>
  d.static_resources.listeners[0].filter_chains[0].filters.find((f: Doc) => typeOf(f.typed_config) === HCM)
    .typed_config;
const httpFilter = (d: Doc, type: string): Doc =>
  hcmOf(d).http_filters.find((f: Doc) => typeOf(f.typed_config) === type)?.typed_config;
const cluster = (d: Doc, name: string): Doc =>
  d.static_resources.clusters.find((c: Doc) => c.name === name) as Doc;
const ports = (c: Doc): number[] =>
  c.load_assignment.endpoints.flatMap((e: Doc) =>
    e.lb_endpoints.map((l: Doc) => l.endpoint.address.socket_address.port_value),
  );

beforeAll(() => {
  root = loadEnvoyProtos([
    'envoy/config/bootstrap/v3/bootstrap.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
    'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
    'envoy/extensions/filters/http/ratelimit/v3/rate_limit.proto',
    'envoy/extensions/filters/http/router/v3/router.proto',
    'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  ]);
  doc = load();
});

describe('deploy/envoy/envoy.yaml against Envoy v3 protos', () => {
  it('has only fields, enum values and types that Envoy knows, and no deprecated fields', () => {
    expect(checkAgainstProto(root, BOOTSTRAP, doc)).toEqual([]);
  });

  // Each mutation must be caught, at its path: proof that the walk reaches every level of the file.
  const mutations: [string, (d: Doc) => void, RegExp][] = [
    [
      'a misspelled ext_authz option',
      (d) => {
        const f = httpFilter(d, EXT_AUTHZ_FILTER);
        f.failure_mode_alow = f.failure_mode_allow;
        delete f.failure_mode_allow;
      },
      /http_filters\[0\]\.typed_config\.failure_mode_alow: unknown field of envoy\.extensions\.filters\.http\.ext_authz\.v3\.ExtAuthz/,
    ],
    [
      'a misspelled with_request_body option',
      (d) => {
        const body = httpFilter(d, EXT_AUTHZ_FILTER).with_request_body;
        body.pack_as_byte = true;
        delete body.pack_as_bytes;
      },
      /with_request_body\.pack_as_byte: unknown field of envoy\.extensions\.filters\.http\.ext_authz\.v3\.BufferSettings/,
    ],
    [
      'a misspelled rate limit option',
      (d) => {
        httpFilter(d, RATELIMIT_FILTER).failure_mode_denied = false;
      },
      /failure_mode_denied: unknown field of envoy\.extensions\.filters\.http\.ratelimit\.v3\.RateLimit/,
    ],
    [
      'a timeout that is not a Duration',
      (d) => {
        httpFilter(d, EXT_AUTHZ_FILTER).grpc_service.timeout = '2 seconds';
      },
      /grpc_service\.timeout: expected a Duration/,
    ],
    [
      'an unknown enum value',
      (d) => {
        httpFilter(d, RATELIMIT_FILTER).enable_x_ratelimit_headers = 'DRAFT_VERSION_99';
      },
      /enable_x_ratelimit_headers: "DRAFT_VERSION_99" is not a value of/,
    ],
    [
      'a misspelled cluster field',
      (d) => {
        cluster(d, 'edge_ratelimit').conect_timeout = '1s';
      },
      /clusters\[2\]\.conect_timeout: unknown field of envoy\.config\.cluster\.v3\.Cluster/,
    ],
    [
      'two members of one oneof',
      (d) => {
        httpFilter(d, EXT_AUTHZ_FILTER).http_service = { server_uri: { uri: 'http://x', cluster: 'x' } };
      },
      /http_service: oneof services already set by grpc_service/,
    ],
    [
      'an @type Envoy does not have',
      (d) => {
        hcmOf(d).http_filters[0].typed_config['@type'] =
          'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuth';
      },
      /'@type' type\.googleapis\.com\/envoy\.extensions\.filters\.http\.ext_authz\.v3\.ExtAuth is not a message/,
    ],
    [
      'a string where a number belongs',
      (d) => {
        d.static_resources.listeners[0].address.socket_address.port_value = 'eighty';
      },
      /socket_address\.port_value: expected an integer/,
    ],
  ];
  for (const [name, mutate, expected] of mutations) {
    it(`refuses ${name}`, () => {
      const copy = load();
      mutate(copy);
      const problems = checkAgainstProto(root, BOOTSTRAP, copy);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(expected);
    });
  }
});

describe('deploy/envoy/envoy.yaml wiring to the edge', () => {
  it('sends ext_authz the whole body as bytes, fails closed, with a gRPC timeout', () => {
    const authz = httpFilter(doc, EXT_AUTHZ_FILTER);
    expect(authz.transport_api_version).toBe('V3');
    expect(authz.failure_mode_allow).toBe(false);
    const body = authz.with_request_body;
    // Smaller than MAX_REQUEST_BYTES and Envoy would cut writes the edge accepts (or deny them as partial).
    expect(body.max_request_bytes).toBeGreaterThanOrEqual(Number(setting('MAX_REQUEST_BYTES')));
    expect(body.allow_partial_message).toBe(false);
    expect(body.pack_as_bytes).toBe(true);
    const timeout = parseDuration(authz.grpc_service.timeout as string);
    expect(timeout).toBeGreaterThan(0);
    // The listener must be able to buffer the body ext_authz waits for.
    expect(doc.static_resources.listeners[0].per_connection_buffer_limit_bytes).toBeGreaterThanOrEqual(
      body.max_request_bytes,
    );
  });

  it('asks the rate limit service with a timeout, for the domain RATELIMIT_CONFIG defines', () => {
    const rl = httpFilter(doc, RATELIMIT_FILTER);
    expect(rl.rate_limit_service.transport_api_version).toBe('V3');
    expect(rl.failure_mode_deny).toBe(false);
    expect(parseDuration(rl.timeout as string)).toBeGreaterThan(0);
    const config = readRateLimitConfig(join(ENVOY_DIR, 'ratelimit-config.yaml'));
    expect([...config.domains.keys()]).toEqual([rl.domain]);
    // The descriptor the route's action builds (tenant header → its key) meets the example's rules.
    const action = hcmOf(doc).route_config.virtual_hosts[0].routes[0].route.rate_limits[0].actions[0];
    const key = action.request_headers.descriptor_key as string;
    expect(
      findLimit(config, rl.domain as string, [{ key, value: 'batch-jobs' }])?.limit.requestsPerUnit,
    ).toBe(600);
  });

  it('points each gRPC service at a defined HTTP/2 cluster on the edge port, health-checked by service name', () => {
    const wiring: [string, string, string][] = [
      [
        httpFilter(doc, EXT_AUTHZ_FILTER).grpc_service.envoy_grpc.cluster_name,
        'EXT_AUTHZ_PORT',
        EXT_AUTHZ_SERVICE,
      ],
      [
        httpFilter(doc, RATELIMIT_FILTER).rate_limit_service.grpc_service.envoy_grpc.cluster_name,
        'RATELIMIT_PORT',
        RATELIMIT_SERVICE,
      ],
    ];
    for (const [name, portSetting, service] of wiring) {
      const c = cluster(doc, name);
      expect(c, `cluster ${name}`).toBeDefined();
      expect(ports(c)).toEqual([Number(setting(portSetting))]);
      const options =
        c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
      expect(options.explicit_http_config).toHaveProperty('http2_protocol_options');
      expect(c.health_checks[0].grpc_health_check.service_name).toBe(service);
    }
  });

  it('runs ext_authz, then rate limiting, then the router', () => {
    expect(hcmOf(doc).http_filters.map((f: Doc) => f.name)).toEqual([
      'envoy.filters.http.ext_authz',
      'envoy.filters.http.ratelimit',
      'envoy.filters.http.router',
    ]);
  });

  it('sends every default REMOTE_WRITE_PATHS path through ext_authz and the tenant rate limit', () => {
    const routes = hcmOf(doc).route_config.virtual_hosts[0].routes as Doc[];
    const tenantHeader = setting('TENANT_HEADER');
    // Envoy takes the first route that matches.
    const routeFor = (path: string): Doc =>
      routes.find(
        (r) =>
          (r.match.path !== undefined && r.match.path === path) ||
          (r.match.prefix !== undefined && path.startsWith(r.match.prefix as string)),
      );
    // A trailing slash is the same write path (src/lib/http/request-target.ts): never routed around ext_authz.
    for (const path of setting('REMOTE_WRITE_PATHS')
      .split(',')
      .flatMap((p) => [p, p + '/'])) {
      const route = routeFor(path);
      expect(route, path).toBeDefined();
      expect(route.typed_per_filter_config?.['envoy.filters.http.ext_authz']?.disabled, path).not.toBe(true);
      const actions = (route.route.rate_limits as Doc[]).flatMap((r) => r.actions as Doc[]);
      expect(actions, path).toContainEqual({
        request_headers: { header_name: tenantHeader, descriptor_key: tenantHeader },
      });
    }
    // Reads skip ext_authz: there is no body to measure.
    expect(
      routeFor('/prometheus/api/v1/query').typed_per_filter_config['envoy.filters.http.ext_authz'],
    ).toEqual(expect.objectContaining({ disabled: true }));
  });

  it('normalizes paths before routing and ext_authz, refuses encoded slashes, and trusts only the TCP peer', () => {
    const hcm = hcmOf(doc);
    expect(hcm.normalize_path).toBe(true);
    expect(hcm.merge_slashes).toBe(true);
    expect(hcm.path_with_escaped_slashes_action).toBe('REJECT_REQUEST');
    expect(hcm.use_remote_address).toBe(true);
    expect(hcm.xff_num_trusted_hops ?? 0).toBe(0);
  });
});
