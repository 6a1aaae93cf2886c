# syntax=docker/dockerfile:1
# One image for every process: `api` (default), `worker`, `migrate`, `backup`, `restore <archive>`.
#   docker build -t emotion-diary .
#   docker run --rm emotion-diary help
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: full dependency tree, TypeScript compiled to dist/, the web app to web/dist/ --------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm run build:web \
 && node dist/src/main.js help >/dev/null

# --- deps: production dependencies only (no install scripts: none of them needs one) ----------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini reaps children (mariadb-dump during backups) and forwards signals; node itself handles
# SIGTERM gracefully in src/main.ts. mariadb-client provides mariadb-dump/mariadb for backup/restore.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini mariadb-client \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/emotion-diary/backups /var/log/emotion-diary \
 && chown -R node:node /var/lib/emotion-diary /var/log/emotion-diary
WORKDIR /app
ENV NODE_ENV=production \
    APP_PROFILE=production \
    PORT=3000 \
    METRICS_PORT=9464 \
    APP__BACKUP__DIR=/var/lib/emotion-diary/backups
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
# The web app, served by the api under /app/ (src/http/web-routes.ts).
COPY --from=build --chown=root:root /app/web/dist ./web/dist
COPY --chown=root:root package.json ./
# The code is owned by root and read-only for the process; only the backup and log dirs are writable.
USER node
EXPOSE 3000 9464
VOLUME ["/var/lib/emotion-diary/backups"]
STOPSIGNAL SIGTERM
# Liveness of the api. The worker's compose service overrides it with its metrics endpoint.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/main.js"]
CMD ["api"]
