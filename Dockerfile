# syntax=docker/dockerfile:1
#
# LiteFS + litefs-supervisor + the example app (example/), shipped the way Fly.io LiteFS apps
# are: `litefs mount` is the container's command, reads /etc/litefs.yml (litefs.yml.example) and
# starts litefs-supervisor as its single exec command; the supervisor migrates on a safe primary
# only, then starts and supervises the app. See docs/deploying.md.
#
#   fly deploy                    # with fly.example.toml copied to fly.toml
#   docker build -t litefs-example .
#   docker run --rm --device /dev/fuse --cap-add SYS_ADMIN litefs-example   # FUSE needs both
#
# For your own app: keep the "supervisor" lines (or `RUN npm install -g litefs-supervisor` in
# place of the build stage), the final stage's apt packages, LiteFS, tini, ENTRYPOINT and CMD,
# and replace the example-deps stage and the /app lines with your app's own build.

# ---- Build the supervisor and lay it out as its npm package, with locked runtime deps ----------
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: nothing the build uses needs an install script (esbuild finds its binary in
# its platform package), and the tests' better-sqlite3 would otherwise need a compiler here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build
# The package exactly as npm would publish it (package.json "files"), at a fixed path, with the
# runtime dependencies installed from the lock file (not re-resolved as `npm install -g` would).
RUN mkdir -p /tmp/pkg /opt/litefs-supervisor \
 && npm pack --silent --ignore-scripts --pack-destination /tmp/pkg \
 && tar -xzf /tmp/pkg/litefs-supervisor-*.tgz -C /opt/litefs-supervisor --strip-components=1 \
 && cp package-lock.json /opt/litefs-supervisor/ \
 && cd /opt/litefs-supervisor \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && chmod 0755 dist/cli/main.js

# ---- The example app's one dependency --------------------------------------------------------
# better-sqlite3 is a devDependency of this repository (tests use it) but a runtime dependency of
# the example app. It is a native module: npm downloads a prebuilt binary for Node 20 on
# linux/glibc, and the toolchain below is only the fallback to compile it. Same version as the
# lock file (test/ship/dockerfile.test.ts checks).
FROM node:20-bookworm-slim AS example-deps
ARG BETTER_SQLITE3_VERSION=12.11.1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
RUN npm install --no-save --no-audit --no-fund "better-sqlite3@${BETTER_SQLITE3_VERSION}"

# ---- Runtime -----------------------------------------------------------------------------------
FROM node:20-bookworm-slim
# fuse3: LiteFS mounts its FUSE file system with fusermount3. ca-certificates: HTTPS to Consul
# (FLY_CONSUL_URL). tini: see ENTRYPOINT. sqlite3: `litefs-supervisor compact` runs VACUUM INTO
# and its checks with the sqlite3 shell (docs/deploying.md, "VACUUM safely").
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates fuse3 sqlite3 tini \
 && rm -rf /var/lib/apt/lists/*

COPY --from=flyio/litefs:0.5 /usr/local/bin/litefs /usr/local/bin/litefs

COPY --from=build /opt/litefs-supervisor /opt/litefs-supervisor
RUN ln -s /opt/litefs-supervisor/dist/cli/main.js /usr/local/bin/litefs-supervisor

# The app (here the example): its files and its dependency. DATABASE_PATH is inside the LiteFS
# mount (fuse.dir); the app listens on 127.0.0.1:8081, LiteFS's proxy.target, and is reached
# through LiteFS's proxy on :8080 (fly.example.toml internal_port).
WORKDIR /app
COPY --from=example-deps /app/node_modules ./node_modules
COPY example/app.mjs example/migrate.mjs example/paths.mjs ./
COPY example/migrations ./migrations
ENV NODE_ENV=production \
    DATABASE_PATH=/litefs/app.db \
    HOST=127.0.0.1 \
    PORT=8081

COPY litefs.yml.example /etc/litefs.yml
# /data is the Fly volume (fly.example.toml [mounts]); the directories exist for `docker run`
# without a volume too.
RUN mkdir -p /data /litefs

# LiteFS does not reap orphaned grandchildren, so it should not be PID 1. Under Docker tini is
# PID 1; on Fly the platform's init is PID 1 and tini registers as a child subreaper (-s, else it
# warns that it cannot reap). tini forwards the stop signal (fly.toml kill_signal) to its child:
# first sh, then (exec) LiteFS, which forwards it to litefs-supervisor, which forwards it to the
# app.
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
# `before-mount` first: when the lease is free it gives the running nodes (which hold newer data)
# the first chance at it, for a bounded time, before this node's LiteFS asks for it
# (docs/design.md section 1, "Before the mount"). It exits 0 in every case but a stop signal, and
# `exec` makes LiteFS sh's successor so the stop signal reaches it. tini signals only its child
# (sh), not the gate: on SIGINT (fly.toml kill_signal) dash waits for the gate, at most its bound
# (a few seconds), then dies of SIGINT without starting LiteFS; on SIGTERM sh dies at once and the
# orphaned gate ends by itself within its bound. Either way LiteFS does not start.
CMD ["sh", "-c", "litefs-supervisor before-mount && exec litefs mount"]
