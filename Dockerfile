# syntax=docker/dockerfile:1
# Mimir Edge Enforcement: a multi-stage build into a small runtime image that runs as a non-root user and
# needs no writable path (readOnlyRootFilesystem: true works). Build: docker build -t mimir-edge-enforcement .
# Ports: 8080 proxy, 8081 ext_authz gRPC, 8082 admin API + UI, 8083 rate limit gRPC, 9090 /metrics.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile the TypeScript service and the admin UI ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY ui ./ui
RUN npx tsc -p tsconfig.build.json && npm run build:ui

# --- deps: production dependencies only (snappy ships prebuilt glibc binaries: keep the same Debian base) ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="mimir-edge-enforcement" \
      org.opencontainers.image.description="Per-tenant Mimir limits enforced at the edge" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    BIND_ADDRESS=0.0.0.0 \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/src ./dist/src
COPY --from=build --chown=root:root /app/ui/dist ./ui/dist
COPY --chown=root:root package.json ./
COPY --chown=root:root docs ./docs
COPY --chown=root:root examples/overrides.yaml ./examples/overrides.yaml
# The files belong to root and are read-only for the service: it runs as the image's unprivileged "node" user.
USER 1000:1000
EXPOSE 8080 8081 8082 8083 9090
# /api/health answers 200 while the process serves and 503 while it drains on SIGTERM.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ADMIN_PORT || '8082') + '/api/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains gracefully (docs/operations.md); node runs as PID 1, which is fine as it handles the signals.
STOPSIGNAL SIGTERM
# --no-memory-reducer: after ~8 s idle, V8's memory reducer leaves the heap in a state where every request's
# off-heap body buffers start a full GC; the first load after a quiet spell then ran ~110 mark-compacts per 2,000
# requests (BENCHMARKS.md, enforcement spine). It is a V8 flag Node refuses in NODE_OPTIONS, hence here.
ENTRYPOINT ["node", "--no-memory-reducer", "dist/src/cli.js"]
