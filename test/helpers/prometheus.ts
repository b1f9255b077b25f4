// Runs Debian's `prometheus` (2.42) for end-to-end tests: a generated YAML config and a TSDB in a temp
// dir, a free port on 127.0.0.1, and typed helpers for its HTTP API (query, query_range, series) and
// for reading its own metrics. Also parses the Prometheus text format, for any /metrics page.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { startProcess, waitForHttp } from './child-process.js';
import type { ManagedProcess } from './child-process.js';
import { requireDebianBinary } from './debian.js';
import { freePort } from './ports.js';

export type Labels = Record<string, string>;

export interface PrometheusOptions {
  /** Used in messages and log prefixes, e.g. "sender". */
  name: string;
  /** The prometheus.yml content; a function gets this instance's own address (to scrape itself). */
  config: Record<string, unknown> | ((self: { address: string; url: string }) => Record<string, unknown>);
  /** Adds --web.enable-remote-write-receiver (accepts remote write on /api/v1/write). */
  remoteWriteReceiver?: boolean;
  extraArgs?: readonly string[];
  startTimeoutMs?: number;
}

export interface PrometheusInstance {
  readonly name: string;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** 127.0.0.1:<port> */
  readonly address: string;
  readonly dir: string;
  readonly process: ManagedProcess;
  /** Instant query; `time` in Unix seconds (default: now). */
  query(expr: string, time?: number): Promise<QueryResult>;
  /** Range query; times in Unix seconds, step in seconds. */
  queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<RangeSeries[]>;
  /** The label sets of the series matching any of `match`, with samples between start and end. */
  series(match: readonly string[], start?: number, end?: number): Promise<Labels[]>;
  /** The raw samples of `selector` over the `rangeSeconds` before `time`, by series. */
  rawSamples(selector: string, rangeSeconds: number, time: number): Promise<RangeSeries[]>;
  /** Sum of this Prometheus's own metric `name` (from its /metrics) over samples matching `labels`. */
  ownMetric(name: string, labels?: Labels): Promise<number>;
  /** Its /metrics page, parsed. */
  ownMetrics(): Promise<MetricSample[]>;
  stop(): Promise<void>;
}

// ---- HTTP API ---------------------------------------------------------------------------------------

const sampleValue = z.tuple([z.number(), z.string()]);
const vectorItem = z.object({ metric: z.record(z.string(), z.string()), value: sampleValue });
const matrixItem = z.object({ metric: z.record(z.string(), z.string()), values: z.array(sampleValue) });

const queryData = z.discriminatedUnion('resultType', [
  z.object({ resultType: z.literal('vector'), result: z.array(vectorItem) }),
  z.object({ resultType: z.literal('matrix'), result: z.array(matrixItem) }),
  z.object({ resultType: z.literal('scalar'), result: sampleValue }),
  z.object({ resultType: z.literal('string'), result: sampleValue }),
]);
const envelope = z.object({
  status: z.enum(['success', 'error']),
  data: z.unknown().optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
});

export type QueryResult = z.infer<typeof queryData>;
export type RangeSeries = z.infer<typeof matrixItem>;
export type InstantSample = z.infer<typeof vectorItem>;

async function apiGet(
  base: string,
  name: string,
  path: string,
  params: [string, string][],
): Promise<unknown> {
  const url = new URL(path, base);
  const body = new URLSearchParams(params);
  let res: Response;
  try {
    // POST with a form body: the same API as GET, without URL length limits for long match[] lists.
    res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new Error(`${name} prometheus did not answer ${url.pathname}: ${String(err)}`, { cause: err });
  }
  const text = await res.text();
  let parsed: z.infer<typeof envelope>;
  try {
    parsed = envelope.parse(JSON.parse(text));
  } catch {
    throw new Error(
      `${name} prometheus answered ${url.pathname} with HTTP ${res.status}: ${text.slice(0, 500)}`,
    );
  }
  if (parsed.status !== 'success') {
    throw new Error(
      `${name} prometheus rejected ${url.pathname} (${params.map(([k, v]) => `${k}=${v}`).join(' ')}): ` +
        `${parsed.errorType ?? ''} ${parsed.error ?? ''}`,
    );
  }
  return parsed.data;
}

// ---- Text exposition format --------------------------------------------------------------------------

export interface MetricSample {
  name: string;
  labels: Labels;
  value: number;
}

function parseValue(raw: string): number {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  if (raw === 'NaN') return NaN;
  return Number(raw);
}

/** Parses the Prometheus text exposition format (comments skipped, label escapes handled). */
export function parseExposition(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    let i = 0;
    while (i < line.length && /[A-Za-z0-9_:]/.test(line.charAt(i))) i++;
    const name = line.slice(0, i);
    const labels: Labels = {};
    if (line.charAt(i) === '{') {
      i++;
      for (;;) {
        while (line.charAt(i) === ' ' || line.charAt(i) === ',') i++;
        if (line.charAt(i) === '}') {
          i++;
          break;
        }
        const eq = line.indexOf('=', i);
        if (eq < 0 || line.charAt(eq + 1) !== '"') throw new Error(`cannot parse metrics line: ${line}`);
        const key = line.slice(i, eq).trim();
        let value = '';
        let j = eq + 2;
        for (; j < line.length && line.charAt(j) !== '"'; j++) {
          const c = line.charAt(j);
          if (c === '\\') {
            const next = line.charAt(++j);
            value += next === 'n' ? '\n' : next;
          } else {
            value += c;
          }
        }
        if (j >= line.length) throw new Error(`cannot parse metrics line: ${line}`);
        labels[key] = value;
        i = j + 1;
      }
    }
    const [rawValue] = line.slice(i).trim().split(/\s+/);
    if (name === '' || rawValue === undefined) throw new Error(`cannot parse metrics line: ${line}`);
    samples.push({ name, labels, value: parseValue(rawValue) });
  }
  return samples;
}

/** Sum of the samples called `name` whose labels include all of `labels`. */
export function sumMetric(samples: readonly MetricSample[], name: string, labels: Labels = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Fetches and parses a /metrics page. */
export async function scrapeMetrics(url: string): Promise<MetricSample[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  return parseExposition(text);
}

// ---- Process ------------------------------------------------------------------------------------------

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusInstance> {
  const binary = requireDebianBinary('prometheus', 'prometheus');
  const dir = await mkdtemp(join(tmpdir(), `e2e-prometheus-${options.name}-`));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const url = `http://${address}`;
  const config = typeof options.config === 'function' ? options.config({ address, url }) : options.config;
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, stringify(config));

  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=${address}`,
    '--log.level=info',
    ...(options.remoteWriteReceiver === true ? ['--web.enable-remote-write-receiver'] : []),
    ...(options.extraArgs ?? []),
  ];
  const proc = startProcess({
    name: `${options.name} prometheus`,
    command: binary,
    args,
    cwd: dir,
    afterStop: () => rm(dir, { recursive: true, force: true }),
  });
  const stop = async (): Promise<void> => {
    await proc.stop(10_000);
  };
  try {
    await waitForHttp(`${url}/-/ready`, options.startTimeoutMs ?? 30_000, { process: proc });
  } catch (err) {
    await stop();
    throw err;
  }

  const label = options.name;
  const query = async (expr: string, time?: number): Promise<QueryResult> => {
    const params: [string, string][] = [['query', expr]];
    if (time !== undefined) params.push(['time', String(time)]);
    return queryData.parse(await apiGet(url, label, '/api/v1/query', params));
  };
  return {
    name: options.name,
    url,
    address,
    dir,
    process: proc,
    query,
    async queryRange(expr, start, end, stepSeconds) {
      const data = queryData.parse(
        await apiGet(url, label, '/api/v1/query_range', [
          ['query', expr],
          ['start', String(start)],
          ['end', String(end)],
          ['step', String(stepSeconds)],
        ]),
      );
      if (data.resultType !== 'matrix') throw new Error(`query_range returned a ${data.resultType}`);
      return data.result;
    },
    async series(match, start, end) {
      const params: [string, string][] = match.map((m) => ['match[]', m]);
      if (start !== undefined) params.push(['start', String(start)]);
      if (end !== undefined) params.push(['end', String(end)]);
      return z
        .array(z.record(z.string(), z.string()))
        .parse(await apiGet(url, label, '/api/v1/series', params));
    },
    async rawSamples(selector, rangeSeconds, time) {
      const data = await query(`${selector}[${Math.ceil(rangeSeconds)}s]`, time);
      if (data.resultType !== 'matrix') throw new Error(`a range selector returned a ${data.resultType}`);
      return data.result;
    },
    async ownMetric(name, labels = {}) {
      return sumMetric(await scrapeMetrics(`${url}/metrics`), name, labels);
    },
    ownMetrics: () => scrapeMetrics(`${url}/metrics`),
    stop,
  };
}

/** Canonical text of a label set, for comparing series sets: `{a="1", b="2"}` with sorted keys. */
export function labelsKey(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `{${parts.join(', ')}}`;
}
