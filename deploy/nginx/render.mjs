// Renders deploy/nginx/edge.conf.template into the NGINX configuration of one rollout mode
// (direct, mirror, canary, selective, full). Plain Node, no dependencies, so it runs anywhere NGINX is managed.
// Refuses values that would change the meaning of the file (an address with a ";", an identity with a quote).
/* global process, console */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const TEMPLATE_PATH = join(here, 'edge.conf.template');
export const MODES = Object.freeze(['direct', 'mirror', 'canary', 'selective', 'full']);

/** The values the shipped example files are rendered with (addresses of a typical Kubernetes install). */
export const EXAMPLE_OPTIONS = Object.freeze({
  listen: '8080',
  mimirAddress: 'mimir-distributor.mimir.svc.cluster.local:8080',
  edgeAddress: 'mimir-edge-enforcement.mimir-edge.svc.cluster.local:8080',
  canaryPercent: 10,
  selected: ['boltx', 'cloudwatch'],
});

const DEFAULTS = Object.freeze({
  canaryPercent: 10,
  canaryKey: '$edge_identity',
  selected: [],
  workerProcesses: 'auto',
  errorLog: '/var/log/nginx/error.log',
  accessLog: '/var/log/nginx/access.log',
  tempDir: '/var/lib/nginx',
  clientMaxBodySize: '100m',
  mirrorTimeout: '2s',
  upstreamKeepaliveTimeout: '50s',
  tenantFromBasicAuth: false,
});

// Who a write belongs to, read as the edge reads it. Without TENANT_FROM_BASIC_AUTH: the tenant header, else
// the basic-auth user. With it, the basic-auth user wins: a client cannot name another tenant in a header.
const IDENTITY_MAP_HEADER = `    # Who a write belongs to, read as the edge reads it: the tenant header, else the basic-auth user.
    map $http_x_scope_orgid $edge_identity {
        ""       $remote_user;
        default  $http_x_scope_orgid;
    }`;
const IDENTITY_MAP_BASIC_AUTH = `    # Who a write belongs to, read as the edge reads it with TENANT_FROM_BASIC_AUTH: the basic-auth user, else
    # the tenant header. A client's own X-Scope-OrgID never overrides the user it authenticated as.
    map $remote_user $edge_identity {
        ""       $http_x_scope_orgid;
        default  $remote_user;
    }`;
// With TENANT_FROM_BASIC_AUTH, every route (the edge, Mimir direct, the mirror) is told the tenant NGINX
// routed by, replacing whatever X-Scope-OrgID the client sent (an empty value sends none).
const TENANT_HEADER_LINE = `        # The tenant is the basic-auth user when there is one: the client's own X-Scope-OrgID is replaced.
        proxy_set_header X-Scope-OrgID $edge_identity;
`;

// Mimir's tenant id characters (alphanumerics and !-_.*'()), which all sit safely inside a "…" string.
const IDENTITY = /^[A-Za-z0-9!._*'()-]{1,150}$/;
const ADDRESS = /^[A-Za-z0-9.:[\]_-]+(\s+[a-z_]+(=[A-Za-z0-9.]+)?)*$/;
const LISTEN = /^[A-Za-z0-9.:[\]_ -]+$/;
const PATH = /^[A-Za-z0-9/._-]+$/;
const SIZE = /^\d+[kmg]?$/;
const DURATION = /^\d+(ms|s|m)?$/;
const KEYS = ['$edge_identity', '$request_id', '$remote_addr'];

class RenderError extends Error {}

function check(name, value, pattern) {
  const text = String(value);
  if (!pattern.test(text))
    throw new RenderError(`${name}: "${text}" is not allowed here (expected ${pattern})`);
  return text;
}

/** The split_clients body: the canary share to the edge, the rest direct. Up to two decimals, as NGINX allows. */
function canarySplit(percent) {
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100)
    throw new RenderError(`canaryPercent: ${String(percent)} must be a number from 0 to 100`);
  if (Math.round(percent * 100) !== percent * 100)
    throw new RenderError(`canaryPercent: ${percent} has more than two decimals`);
  if (percent === 0) return '*  mimir_direct;';
  if (percent === 100) return '*  mimir_edge;';
  return `${percent}%  mimir_edge;\n        *  mimir_direct;`;
}

/**
 * The configuration text for `options.mode`.
 * @param {import('./render.d.mts').RenderOptions} options
 * @returns {string}
 */
export function renderNginxConfig(options) {
  const o = { ...DEFAULTS, ...options };
  if (!MODES.includes(o.mode)) throw new RenderError(`mode: "${o.mode}" is not one of ${MODES.join(', ')}`);
  if (!KEYS.includes(o.canaryKey))
    throw new RenderError(`canaryKey: "${o.canaryKey}" is not one of ${KEYS.join(', ')}`);
  const selected = [...new Set(o.selected)].map((id) => check('selected', id, IDENTITY));
  if (typeof o.tenantFromBasicAuth !== 'boolean')
    throw new RenderError(`tenantFromBasicAuth: ${String(o.tenantFromBasicAuth)} must be true or false`);
  const basicAuth = o.tenantFromBasicAuth;
  const values = {
    MODE: o.mode,
    LISTEN: check('listen', o.listen, LISTEN),
    MIMIR_ADDRESS: check('mimirAddress', o.mimirAddress, ADDRESS),
    EDGE_ADDRESS: check('edgeAddress', o.edgeAddress, ADDRESS),
    CANARY_PERCENT: String(o.canaryPercent),
    CANARY_KEY: o.canaryKey,
    CANARY_SPLIT: canarySplit(o.canaryPercent),
    SELECTED_IDENTITIES: selected.map((id) => `        "${id}"  mimir_edge;`).join('\n'),
    MIRROR_URI: o.mode === 'mirror' ? '/_edge_mirror' : 'off',
    MIRROR_TIMEOUT: check('mirrorTimeout', o.mirrorTimeout, DURATION),
    UPSTREAM_KEEPALIVE_TIMEOUT: check('upstreamKeepaliveTimeout', o.upstreamKeepaliveTimeout, DURATION),
    WORKER_PROCESSES: check('workerProcesses', o.workerProcesses, /^(auto|\d+)$/),
    ERROR_LOG: check('errorLog', o.errorLog, PATH),
    ACCESS_LOG: check('accessLog', o.accessLog, PATH),
    TEMP_DIR: check('tempDir', o.tempDir, PATH),
    CLIENT_MAX_BODY_SIZE: check('clientMaxBodySize', o.clientMaxBodySize, SIZE),
    IDENTITY_MAP: basicAuth ? IDENTITY_MAP_BASIC_AUTH : IDENTITY_MAP_HEADER,
    TENANT_HEADER: basicAuth ? TENANT_HEADER_LINE : '',
    TENANT_HEADER_MIRROR: basicAuth ? TENANT_HEADER_LINE.replace(/^ {8}/gm, '            ') : '',
  };
  const template = readFileSync(TEMPLATE_PATH, 'utf8');
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name) => {
    const value = values[name];
    if (value === undefined)
      throw new RenderError(`the template names {{${name}}}, which render.mjs does not know`);
    return value;
  });
}

/** The shipped example file of a mode: deploy/nginx/<mode>.conf. */
export function examplePath(mode) {
  return join(here, `${mode}.conf`);
}

const USAGE = `usage: node deploy/nginx/render.mjs --mode <${MODES.join('|')}> --mimir <host:port> --edge <host:port>
         [--listen 8080] [--canary-percent 10] [--canary-key '$edge_identity'|'$request_id']
         [--select tenant,tenant] [--temp-dir /var/lib/nginx] [--error-log path] [--access-log path]
         [--tenant-from-basic-auth]   (the edge runs with TENANT_FROM_BASIC_AUTH=true)
       node deploy/nginx/render.mjs --examples   (rewrites deploy/nginx/<mode>.conf for every mode)
Prints the configuration on stdout.`;

function parseArgs(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new RenderError(`unexpected argument "${arg}"\n${USAGE}`);
    const name = arg.slice(2);
    if (name === 'examples' || name === 'help' || name === 'tenant-from-basic-auth') flags[name] = true;
    else {
      const value = argv[++i];
      if (value === undefined) throw new RenderError(`--${name} needs a value\n${USAGE}`);
      flags[name] = value;
    }
  }
  return flags;
}

function main() {
  const flags = parseArgs(process.argv.slice(2));
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (flags.examples) {
    for (const mode of MODES)
      writeFileSync(examplePath(mode), renderNginxConfig({ ...EXAMPLE_OPTIONS, mode }));
    console.log(`rendered ${MODES.map((m) => `deploy/nginx/${m}.conf`).join(', ')}`);
    return;
  }
  const known = {
    mode: 'mode',
    mimir: 'mimirAddress',
    edge: 'edgeAddress',
    listen: 'listen',
    'canary-percent': 'canaryPercent',
    'canary-key': 'canaryKey',
    select: 'selected',
    'temp-dir': 'tempDir',
    'error-log': 'errorLog',
    'access-log': 'accessLog',
    'worker-processes': 'workerProcesses',
    'client-max-body-size': 'clientMaxBodySize',
    'mirror-timeout': 'mirrorTimeout',
    'upstream-keepalive-timeout': 'upstreamKeepaliveTimeout',
    'tenant-from-basic-auth': 'tenantFromBasicAuth',
  };
  const options = { listen: EXAMPLE_OPTIONS.listen };
  for (const [flag, value] of Object.entries(flags)) {
    const key = known[flag];
    if (key === undefined) throw new RenderError(`unknown flag --${flag}\n${USAGE}`);
    if (key === 'canaryPercent') options[key] = Number(value);
    else if (key === 'selected') options[key] = value.split(',').filter((s) => s !== '');
    else options[key] = value;
  }
  for (const required of ['mode', 'mimirAddress', 'edgeAddress'])
    if (options[required] === undefined)
      throw new RenderError(
        `missing --${required === 'mode' ? 'mode' : required === 'mimirAddress' ? 'mimir' : 'edge'}\n${USAGE}`,
      );
  process.stdout.write(renderNginxConfig(options));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    if (!(err instanceof RenderError)) throw err;
    console.error(`render.mjs: ${err.message}`);
    process.exit(2);
  }
}
