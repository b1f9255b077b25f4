// Certificates of the TLS listeners (proxy, admin, gRPC), read from PEM files and re-read while running, so a
// renewed certificate (cert-manager, an updated Kubernetes Secret) reaches new connections without a restart.
// A bad or half-written set of files is refused and the last good one stays: after start this never throws.

import { readFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { ConfigError } from '../lib/config-error.js';

/** One PEM file and the setting that names it, for messages. */
export interface TlsFile {
  env: string;
  path: string;
}

export interface TlsFileSet {
  cert: TlsFile;
  key: TlsFile;
  /** CA bundle for client certificates (mTLS); absent: clients need none. */
  ca?: TlsFile;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/**
 * The file set named by a cert/key pair of settings, undefined when both are empty (plain listener). One
 * without the other stops the edge at start, naming the missing one.
 */
export function tlsFileSet(
  listener: string,
  cert: TlsFile,
  key: TlsFile,
  ca?: TlsFile,
): TlsFileSet | undefined {
  if (!cert.path && !key.path && !ca?.path) return undefined;
  if (!cert.path || !key.path) {
    const missing = cert.path ? key.env : cert.env;
    throw new ConfigError(
      'settings',
      missing,
      `TLS on the ${listener} port needs both ${cert.env} and ${key.env}; set ${missing}`,
    );
  }
  return ca?.path ? { cert, key, ca } : { cert, key };
}

function readPem(file: TlsFile): Buffer {
  try {
    return readFileSync(file.path);
  } catch (err) {
    throw new ConfigError(
      'settings',
      file.env,
      `cannot read ${file.path}: ${(err as NodeJS.ErrnoException).code ?? ''}`,
    );
  }
}

/** Reads and checks a file set: a key that does not match its certificate, or bad PEM, is a ConfigError. */
export function readTlsMaterial(files: TlsFileSet): TlsMaterial {
  const material: TlsMaterial = { cert: readPem(files.cert), key: readPem(files.key) };
  if (files.ca) material.ca = readPem(files.ca);
  try {
    createSecureContext(material);
  } catch (err) {
    throw new ConfigError(
      'settings',
      files.cert.env,
      `${files.cert.path} with ${files.key.path}: ${(err as Error).message}`,
    );
  }
  return material;
}

function same(a: TlsMaterial, b: TlsMaterial): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key) && (a.ca ?? EMPTY).equals(b.ca ?? EMPTY);
}
const EMPTY = Buffer.alloc(0);

export type TlsReloadResult = 'applied' | 'error';

/**
 * Re-reads a file set every interval and hands a changed, valid set to `apply` (server.setSecureContext).
 * Contents are compared, not modification times: a Secret update swaps a symlink, and a copy may keep the mtime.
 */
export class TlsReloader {
  private current: TlsMaterial;
  /** The contents last refused, so a bad file is reported once, not at every check. */
  private refused: TlsMaterial | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly listener: string,
    private readonly files: TlsFileSet,
    initial: TlsMaterial,
    private readonly apply: (material: TlsMaterial) => void,
    private readonly report: (listener: string, result: TlsReloadResult, detail: string) => void,
  ) {
    this.current = initial;
  }

  /** Checks the files now; true when a new certificate was applied. */
  check(): boolean {
    let next: TlsMaterial;
    try {
      next = { cert: readFileSync(this.files.cert.path), key: readFileSync(this.files.key.path) };
      if (this.files.ca) next.ca = readFileSync(this.files.ca.path);
    } catch (err) {
      // A file briefly missing while a Secret is swapped: the next check reads the new one.
      this.refuse(undefined, `cannot read the TLS files: ${(err as Error).message}`);
      return false;
    }
    if (same(next, this.current)) return false;
    if (this.refused && same(next, this.refused)) return false;
    try {
      createSecureContext(next);
      this.apply(next);
    } catch (err) {
      this.refuse(next, `${this.files.cert.path} with ${this.files.key.path}: ${(err as Error).message}`);
      return false;
    }
    this.current = next;
    this.refused = undefined;
    this.lastError = undefined;
    this.report(this.listener, 'applied', `new certificate from ${this.files.cert.path}`);
    return true;
  }

  private refuse(material: TlsMaterial | undefined, detail: string): void {
    if (material) this.refused = material;
    // Reported once per distinct problem, not at every check while it lasts.
    if (detail === this.lastError) return;
    this.lastError = detail;
    this.report(this.listener, 'error', detail);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * A TLS listener in front of an HTTP server that is never bound itself (fastify's, for the admin API): each
 * decrypted connection is handed to it, which is what https.Server does internally.
 */
export interface TlsFront {
  readonly server: TlsServer;
  /** Destroys the connections still open (the HTTP server's own close cannot see them). */
  close(): Promise<void>;
}

export function tlsFront(http: HttpServer, material: TlsMaterial): TlsFront {
  const sockets = new Set<TLSSocket>();
  const server = createTlsServer({ ...material, ALPNProtocols: ['http/1.1'] }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    http.emit('connection', socket);
  });
  // A failed handshake (a plain-HTTP client, an untrusted certificate) only ends that connection.
  server.on('tlsClientError', () => undefined);
  // Node starts the HTTP server's header and request timeout checks when it starts listening; this one never
  // listens, so signal it once the front does, or a slow client could hold a connection forever.
  server.once('listening', () => http.emit('listening'));
  return {
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
