# One image for the whole cluster (see deploy/README.md):
#   API (default command)   node dist/apps/api/src/main.js
#   worker                  node dist/apps/worker/src/main.js     (override the command)
#   admin CLI               lapi <command>                       (e.g. docker compose exec api-1 lapi bouncers list)
#
#   docker build -t crowdsec-lapi-cluster:local .
#
# Node.js 20, the project's baseline (package.json engines: >=20.19); --build-arg NODE_IMAGE=node:22-bookworm-slim
# (or newer) moves the image to a later line.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- deps: every dependency, dev tools included, cached on package*.json only ------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script runs `npm run build`, and the sources are not here yet (next stage).
# (@swc/core's native binary comes from its optional per-platform package, which needs no install script.)
RUN npm ci --ignore-scripts --no-audit --no-fund

# ---- build: compile apps/ and libs/ to dist/ with SWC; bundle the admin CLI with esbuild -------------------------
FROM deps AS build
COPY .swcrc tsconfig.json ./
COPY scripts/bundle-cli.mjs ./scripts/
COPY apps ./apps
COPY libs ./libs
RUN npm run build

# ---- runtime: production dependencies, dist/ and bin/ only ---------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    LAPI_LISTEN_URI=0.0.0.0:8080 \
    LAPI_LOG_FORMAT=json \
    LAPI_DATA_DIR=/var/lib/lapi
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/patch-postgres.js ./scripts/
# --ignore-scripts: `prepare` (npm run build) would need SWC, a dev dependency; dist/ comes from the build stage.
# The `postinstall` patch of the PostgreSQL driver is run explicitly (scripts/patch-postgres.js says why).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && node scripts/patch-postgres.js \
    && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# `lapi` on the PATH for `docker compose exec … lapi …`. LAPI_DATA_DIR is only used in embedded mode
# (no DATABASE_URL), e.g. a single container: docker run -v lapi-data:/var/lib/lapi -p 8080:8080 IMAGE
RUN printf '#!/bin/sh\nexec node /app/bin/lapi.js "$@"\n' > /usr/local/bin/lapi \
    && chmod 0755 /usr/local/bin/lapi \
    && mkdir -p /var/lib/lapi \
    && chown node:node /var/lib/lapi

# The base image's unprivileged user (uid 1000); the code in /app stays owned by root, read-only for it.
USER node
EXPOSE 8080

# No curl in the slim image: node itself asks GET /health on the port of LAPI_LISTEN_URI (loopback when the
# server listens on every address). Meaningful for the API only: compose disables it for the worker.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "const u=process.env.LAPI_LISTEN_URI||'127.0.0.1:8080';const i=u.lastIndexOf(':');let h=u.slice(0,i);if(h.startsWith('['))h=h.slice(1,-1);if(h==='0.0.0.0'||h==='::'||h==='')h='127.0.0.1';require('node:http').get({host:h,port:Number(u.slice(i+1)),path:'/health',timeout:4000},(r)=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"]

CMD ["node", "dist/apps/api/src/main.js"]
