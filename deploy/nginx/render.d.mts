// Types of render.mjs, so TypeScript (the tests) can call the renderer the operators use.

export type RolloutMode = 'direct' | 'mirror' | 'canary' | 'selective' | 'full';

export interface RenderOptions {
  mode: RolloutMode;
  /** host:port of Mimir's distributors (or any upstream). */
  mimirAddress: string;
  /** host:port of the edge's proxy port. */
  edgeAddress: string;
  /** What NGINX listens on, e.g. "8080" or "127.0.0.1:18080". */
  listen: string;
  /** Canary share through the edge, 0 to 100 (two decimals at most). Default 10. */
  canaryPercent?: number;
  /** What the canary is split by. Default $edge_identity (tenant header, else basic-auth user). */
  canaryKey?: '$edge_identity' | '$request_id' | '$remote_addr';
  /** Identities (tenants or basic-auth users) routed through the edge in selective mode. */
  selected?: readonly string[];
  workerProcesses?: string;
  errorLog?: string;
  accessLog?: string;
  tempDir?: string;
  clientMaxBodySize?: string;
  mirrorTimeout?: string;
  /** How long NGINX keeps an idle upstream connection: below the upstreams' own idle timeout. Default 50s. */
  upstreamKeepaliveTimeout?: string;
  /**
   * The edge runs with TENANT_FROM_BASIC_AUTH=true: the basic-auth user is the identity NGINX routes by, and
   * every upstream gets it as X-Scope-OrgID in place of the client's header. Default false.
   */
  tenantFromBasicAuth?: boolean;
}

export const TEMPLATE_PATH: string;
export const MODES: readonly RolloutMode[];
export const EXAMPLE_OPTIONS: Readonly<Omit<RenderOptions, 'mode'>>;
export function renderNginxConfig(options: RenderOptions): string;
export function examplePath(mode: RolloutMode): string;
