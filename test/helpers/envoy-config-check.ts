// Checks an Envoy YAML/JSON configuration against Envoy's published v3 protos (from @grpc/grpc-js-xds's deps/),
// the way Envoy reads it: proto3 JSON mapping, with unknown fields refused. protobufjs's fromObject() silently
// drops unknown keys and knows nothing of Any's `@type` or Duration strings, so this walks the value itself:
// every key must name a field (snake_case or its lowerCamel JSON name), scalars must have the field's type,
// enums one of their names, oneofs at most one member, `@type` a loaded message, Durations "<n>s".
// Deprecated fields are reported too: an example should not teach them.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { ENVOY_PROTO_DIRS } from './grpc-client.js';

const require = createRequire(import.meta.url);
const protobufjsRoot = dirname(require.resolve('protobufjs/package.json'));

/** Loads proto files (paths relative to the Envoy proto roots) with every import they need. */
export function loadEnvoyProtos(files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  const dirs = [...ENVOY_PROTO_DIRS, protobufjsRoot];
  root.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}

const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};
const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const TYPE_URL_PREFIX = 'type.googleapis.com/';

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function fullName(t: protobuf.ReflectionObject): string {
  return t.fullName.replace(/^\./, '');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Walker {
  readonly problems: string[] = [];
  constructor(private readonly root: protobuf.Root) {}

  private bad(path: string, message: string): void {
    this.problems.push(`${path || '<root>'}: ${message}`);
  }

  scalar(path: string, type: string, v: unknown): void {
    if (type === 'bool') {
      if (typeof v !== 'boolean') this.bad(path, `expected a bool, got ${JSON.stringify(v)}`);
    } else if (type === 'string' || type === 'bytes') {
      if (typeof v !== 'string') this.bad(path, `expected a ${type} (string), got ${JSON.stringify(v)}`);
    } else if (INT32.has(type) || INT64.has(type)) {
      const n = typeof v === 'string' && INT64.has(type) && /^-?\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n))
        this.bad(path, `expected an integer (${type}), got ${JSON.stringify(v)}`);
      else if (type.startsWith('u') && n < 0) this.bad(path, `expected a non-negative ${type}, got ${n}`);
      else if (INT32.has(type) && Math.abs(n) > 0xffff_ffff) this.bad(path, `${n} does not fit ${type}`);
    } else if (type === 'double' || type === 'float') {
      if (typeof v !== 'number') this.bad(path, `expected a number (${type}), got ${JSON.stringify(v)}`);
    } else {
      this.bad(path, `unknown scalar type ${type}`);
    }
  }

  value(path: string, field: protobuf.Field, v: unknown): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum) {
      const ok =
        (typeof v === 'string' && v in resolved.values) ||
        (typeof v === 'number' && Object.values(resolved.values).includes(v));
      if (!ok)
        this.bad(
          path,
          `${JSON.stringify(v)} is not a value of ${fullName(resolved)} (${Object.keys(resolved.values).join(', ')})`,
        );
    } else if (resolved instanceof protobuf.Type) {
      this.message(path, resolved, v);
    } else {
      this.scalar(path, field.type, v);
    }
  }

  message(path: string, type: protobuf.Type, v: unknown): void {
    const name = fullName(type);
    if (name === 'google.protobuf.Duration') {
      if (typeof v !== 'string' || !DURATION.test(v))
        this.bad(path, `expected a Duration such as "1.5s", got ${JSON.stringify(v)}`);
      return;
    }
    if (name in WRAPPERS) return this.scalar(path, WRAPPERS[name]!, v);
    if (name === 'google.protobuf.Struct') {
      if (!isObject(v)) this.bad(path, 'expected an object (Struct)');
      return;
    }
    if (name === 'google.protobuf.Value' || name === 'google.protobuf.ListValue') return;
    if (!isObject(v)) {
      this.bad(path, `expected an object (${name}), got ${JSON.stringify(v)}`);
      return;
    }
    if (name === 'google.protobuf.Any') return this.any(path, v);
    this.fields(path, type, v);
  }

  private any(path: string, v: Record<string, unknown>): void {
    const url = v['@type'];
    if (typeof url !== 'string' || !url.startsWith(TYPE_URL_PREFIX)) {
      this.bad(path, `an Any needs '@type: ${TYPE_URL_PREFIX}<message>', got ${JSON.stringify(url)}`);
      return;
    }
    let inner: protobuf.Type;
    try {
      inner = this.root.lookupType(url.slice(TYPE_URL_PREFIX.length));
    } catch {
      this.bad(path, `'@type' ${url} is not a message in the loaded protos`);
      return;
    }
    const rest = { ...v };
    delete rest['@type'];
    this.fields(path, inner, rest);
  }

  private fields(path: string, type: protobuf.Type, v: Record<string, unknown>): void {
    const byName = new Map<string, protobuf.Field>();
    for (const field of type.fieldsArray) {
      byName.set(field.name, field);
      byName.set(camel(field.name), field);
    }
    const oneofSeen = new Map<string, string>();
    for (const [key, item] of Object.entries(v)) {
      const at = path ? `${path}.${key}` : key;
      const field = byName.get(key);
      if (field === undefined) {
        this.bad(at, `unknown field of ${fullName(type)}`);
        continue;
      }
      if (field.options?.['deprecated'] === true) this.bad(at, `deprecated field of ${fullName(type)}`);
      const oneof = field.partOf;
      if (oneof) {
        const other = oneofSeen.get(oneof.name);
        if (other !== undefined) this.bad(at, `oneof ${oneof.name} already set by ${other}`);
        oneofSeen.set(oneof.name, key);
      }
      if (field instanceof protobuf.MapField) {
        if (!isObject(item)) {
          this.bad(at, 'expected an object (map)');
          continue;
        }
        for (const [k, entry] of Object.entries(item)) this.value(`${at}[${k}]`, field, entry);
      } else if (field.repeated) {
        if (!Array.isArray(item)) {
          this.bad(at, 'expected a list (repeated field)');
          continue;
        }
        item.forEach((entry, i) => this.value(`${at}[${i}]`, field, entry));
      } else {
        this.value(at, field, item);
      }
    }
  }
}

/** Every problem found when `value` is read as the message `typeName` (empty: Envoy would accept its shape). */
export function checkAgainstProto(root: protobuf.Root, typeName: string, value: unknown): string[] {
  const walker = new Walker(root);
  walker.message('', root.lookupType(typeName), value);
  return walker.problems;
}
