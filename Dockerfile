# Rotor server image (docs/deploying.md).
#
#   docker build -t rotor .
#   docker run --rm -p 8000:8000 -v "$PWD/production.json:/rotor/config.json:ro" rotor
#
# Build stage: the dev toolchain compiles src/ and `npm pack` makes the same tarball an operator
# installs on a plain host. Runtime stage: that tarball installed by scripts/production-install.sh
# (npm ci --omit=dev against package-lock.json); no TypeScript, no sources, no dev dependencies.
# test/integration/production-install.test.ts runs the same script and this file's HEALTHCHECK.

FROM node:20-slim AS build
WORKDIR /src
# Dependencies first, so source edits reuse this layer. --ignore-scripts: `prepare` would compile
# before the sources are copied; the build below does it.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build \
 && mkdir /out \
 && npm pack --ignore-scripts --pack-destination /out \
 && mv /out/rotor-*.tgz /out/rotor.tgz \
 && cp package-lock.json scripts/production-install.sh /out/

FROM node:20-slim
ENV NODE_ENV=production
COPY --from=build /out/ /tmp/rotor-pack/
RUN sh /tmp/rotor-pack/production-install.sh /tmp/rotor-pack/rotor.tgz /tmp/rotor-pack/package-lock.json /opt/rotor /usr/local/bin \
 && rm -rf /tmp/rotor-pack /root/.npm

# Owned by root and read-only for the server's user. `rotor` reads ./config.json when present
# (a missing one means defaults plus CENTRIFUGO_* variables), so mount your config here.
WORKDIR /rotor
USER node

# The HEALTHCHECK below asks the liveness path: orchestrators that act on Docker's health (Swarm,
# ECS) replace an unhealthy container, and a Redis outage must not restart every node (readiness,
# /health, is for load balancers; docs/observability.md). With http_server.internal_port set the
# health endpoints move there, so point HEALTHCHECK_URL at that port (e.g.
# http://127.0.0.1:9000/health/live).
ENV CENTRIFUGO_HEALTH_ENABLED=true \
    HEALTHCHECK_URL=http://127.0.0.1:8000/health/live
# 8000: clients, and the API and health unless moved; 9000: the usual http_server.internal_port.
EXPOSE 8000 9000
# node:20-slim has no curl, so node itself asks; any answer but 200, or none, counts as unhealthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]

# Node runs as PID 1 (the exec form, no shell). Rotor handles SIGTERM and SIGINT itself (graceful
# stop: clients get 3001 shutdown, exit within shutdown.timeout), so `docker stop` works; keep
# docker's default 10 s stop timeout above shutdown.timeout (default 30 s: pass `-t 35`, or lower
# shutdown.timeout). Rotor starts no child processes, so no init is needed to reap them; add
# `docker run --init` if you want one anyway.
CMD ["rotor"]
