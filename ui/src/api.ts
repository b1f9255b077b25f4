// The admin API client: bearer token from the login page, JSON in and out, errors as ApiError with the
// server's message and path, and a server-sent-events reader (fetch-based, so it can send the token).
import type { ActiveSeries } from './components/active-series-card.js';

export { RANGE_NAMES as RANGES } from './logic/range.js';
export type { RangeName as Range } from './logic/range.js';
export type { Role } from './logic/roles.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly path?: string,
    /** Seconds the server asks to wait before trying again (Retry-After), when it says. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export interface Window {
  span_seconds: number;
  requests: number;
  allowed: number;
  denied: number;
  denied_by_reason: Record<string, number>;
  would_deny_by_reason: Record<string, number>;
  deny_ratio: number;
  requests_per_second: number;
  samples_per_second: number;
  accepted_samples_per_second: number;
  rejected_samples_per_second: number;
  bytes_per_second: number;
  avg_series_per_request: number;
  max_series_per_request: number;
  max_label_names: number;
  avg_decision_latency_ms: number;
}

export interface Trend {
  direction: 'up' | 'down' | 'flat';
  samples_per_second_before: number;
  samples_per_second_after: number;
  samples_per_second_change_per_minute: number;
}

/** A tenant's rate against its own baseline (docs/cost-and-bursts.md). */
export interface Burst {
  tenant: string;
  flagged: boolean;
  /** False until the tenant has BURST_WARMUP of history. */
  warm: boolean;
  rate: number;
  baseline: number;
  /** null: traffic after a silent baseline. */
  ratio: number | null;
  since: string | null;
  peak_rate: number | null;
  history_seconds: number;
}

export interface Tenant {
  id: string;
  /** Estimated active series (docs/active-series.md); null when not tracked or off. */
  active_series?: ActiveSeries | null;
  /** Numbers, label names, duration texts or lists of label names, by each limit's kind. */
  limits: { ingestion_rate: number } & Record<string, number | string | readonly string[]>;
  limit_sources: Record<string, 'default' | 'overrides_file' | 'runtime'>;
  enforcement: {
    enabled: boolean;
    dry_run: boolean;
    tenant_enabled: boolean;
    limits: Record<string, boolean>;
  };
  window: Window;
  utilisation: {
    ingestion_rate_pct: number;
    ingestion_rate_accepted_pct: number;
    request_rate_pct: number;
    ingestion_burst_pct: number;
  };
  trend: Trend;
  /** null: not tracked by the burst detector (no traffic yet, or BURST_DETECTION=false). */
  burst?: Burst | null;
  has_runtime_overrides: boolean;
  stats: Record<string, unknown> | null;
  first_seen: string | null;
  last_seen: string | null;
}

export interface FlowPoint {
  time: string;
  /** The bucket holding now, still filling. */
  partial: boolean;
  requests: number;
  allowed: number;
  denied: number;
  requests_per_second: number;
  samples_per_second: number;
  accepted_samples_per_second: number;
  rejected_samples_per_second: number;
  bytes_per_second: number;
  avg_decision_latency_ms: number;
}

export interface Flow {
  bucket_seconds: number;
  /** When measuring started: earlier buckets are unknown, not zero. */
  since: string | null;
  points: FlowPoint[];
  denied_by_reason: Record<string, number[]>;
}

export interface TopEntry {
  tenant: string;
  value: number;
}

/** The periodic probe of the upstream's health path (GET /api/system/status `upstream_health`). */
export interface UpstreamHealth {
  target: string;
  probe_url: string | null;
  status: 'up' | 'down' | 'unknown';
  last_check: string | null;
  latency_ms: number | null;
  last_status_code: number | null;
  last_error: { time: string; message: string } | null;
  since: string | null;
  interval_seconds: number | null;
  recent_forward_failures: number;
  recent_seconds: number;
}

/** One live replica, from its heartbeat in Redis (or this process alone without Redis). */
export interface Replica {
  id: string;
  self: boolean;
  hostname?: string;
  admin_address?: string | null;
  proxy_address?: string | null;
  started: string | null;
  last_seen?: string | null;
  last_seen_seconds_ago?: number | null;
  config_version?: number | null;
}

export interface Overview {
  range: Range;
  window: Window;
  trend: Trend;
  active_tenants: number;
  top: {
    by_samples: TopEntry[];
    by_accepted_samples: TopEntry[];
    by_rejected_samples: TopEntry[];
    by_denials: TopEntry[];
    by_utilisation: TopEntry[];
    by_cost?: TopEntry[];
  };
  currency?: string;
  bursting?: Burst[];
  health: {
    status: string;
    upstream: UpstreamHealth;
    store: { kind: string; fallback: boolean; tenants: number };
    limits_stale_seconds: number | null;
  };
}

export interface Update {
  time: string;
  overview: Overview;
  flow: Flow;
}

const TOKEN_KEY = 'mimir-edge.admin-token';

export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export class Api {
  constructor(private readonly token: string) {}

  private async send(method: string, path: string, body?: unknown, contentType?: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let payload: string | undefined;
    if (typeof body === 'string' && contentType) {
      headers['content-type'] = contentType;
      payload = body;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: payload });
    } catch {
      throw new ApiError(0, 'the admin API cannot be reached; is the service running?');
    }
    if (!res.ok) {
      const json = (await res.json().catch(() => ({}))) as { error?: string; path?: string };
      const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
      throw new ApiError(
        res.status,
        json.error ?? `HTTP ${res.status}`,
        json.path,
        Number.isFinite(retryAfter) ? retryAfter : undefined,
      );
    }
    return res;
  }

  private async call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await this.send(method, path, body, contentType);
    return (await res.json().catch(() => ({}))) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', path, body);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  /** DELETEs `path`, with an optional JSON body (e.g. a reason, for the audit log). */
  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('DELETE', path, body);
  }

  /** POSTs text as it is (e.g. YAML for /api/config/import), not as JSON. */
  postText<T>(path: string, text: string, contentType: string): Promise<T> {
    return this.call<T>('POST', path, text, contentType);
  }

  /** GETs a file the API offers as a download: its text and the name from Content-Disposition. */
  async download(path: string, fallbackName: string): Promise<{ name: string; text: string }> {
    const res = await this.send('GET', path);
    const disposition = res.headers.get('content-disposition') ?? '';
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
    return { name, text: await res.text() };
  }

  /** Reads /api/events until `signal` aborts; calls `onUpdate` per event. Rejects when the stream fails. */
  async stream(path: string, onUpdate: (u: Update) => void, signal: AbortSignal): Promise<void> {
    const res = await fetch(path, { headers: { authorization: `Bearer ${this.token}` }, signal });
    if (!res.ok || !res.body) throw new ApiError(res.status, `live updates failed (HTTP ${res.status})`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (data) onUpdate(JSON.parse(data) as Update);
      }
    }
  }
}
