# One image per service, both from this file. Build context = repository root:
#   docker build --build-arg SERVICE=acts -t acts:latest .
#
# Dependencies are installed here, inside the build, for the image's own platform: nothing
# from the machine that builds (its node_modules may hold macOS or ARM binaries) enters the
# context (see .dockerignore). Needs BuildKit (the default of Docker 23 and later; on older
# engines set DOCKER_BUILDKIT=1) for the optional secret below.
#
# Build arguments:
#   SERVICE           users | acts (required)
#   PORT              the port the service listens on unless told otherwise (required)
#   BUILD_BASE_IMAGE  where dependencies are installed; the full Node image carries a C++
#                     toolchain, so a native addon without a prebuilt binary still compiles
#   BASE_IMAGE        what the service runs on
# Optional secret `npm_ca`: a CA bundle npm must trust to reach its registry (a machine behind
# a TLS-inspecting proxy). It is mounted for the one install step and never stored in a layer.
ARG BUILD_BASE_IMAGE=node:22-bookworm
ARG BASE_IMAGE=node:22-bookworm-slim

FROM ${BUILD_BASE_IMAGE} AS build
# Marks the throw-away build stage, so `npm run images` can remove it once the final image is tagged.
LABEL selfieless.stage=build
WORKDIR /src
COPY package.json package-lock.json ./
# Production dependencies exactly as locked; install scripts run, so native addons are built
# or fetched for this platform. Before SERVICE is declared, so both images share this layer.
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
 && npm ci --omit=dev --no-audit --no-fund --loglevel=error \
 && node -e "new (require('better-sqlite3'))(':memory:').close()"
ARG SERVICE
ARG PORT
RUN case "$SERVICE" in users|acts) ;; *) echo "build argument SERVICE must be users or acts, got '$SERVICE'" >&2; exit 1;; esac \
 && case "$PORT" in ''|*[!0-9]*) echo "build argument PORT must be a port number, got '$PORT'" >&2; exit 1;; esac
COPY common ./common
COPY services ./services
# One bundled file, built with the options process mode uses (services/shared/bundle.json); the
# native addon and the MySQL driver stay external and are copied alongside it with their
# run-time dependencies (from the lock file; prebuild-install only matters at install time).
RUN node -e "const { esbuild } = require('./services/shared/bundle.json'); \
      require('esbuild').buildSync({ ...esbuild, entryPoints: ['services/$SERVICE/main.ts'], \
        outfile: '/app/main.js', logLevel: 'error' })" \
 && node -e "const fs = require('fs'); const lock = require('./package-lock.json').packages; \
      const needed = new Set(); \
      const visit = (name) => { \
        const entry = lock['node_modules/' + name]; \
        if (needed.has(name) || name === 'prebuild-install' || !entry || !fs.existsSync('node_modules/' + name)) return; \
        needed.add(name); \
        Object.keys({ ...entry.dependencies, ...entry.optionalDependencies }).forEach(visit); }; \
      require('./services/shared/bundle.json').esbuild.external.forEach(visit); \
      for (const name of needed) fs.cpSync('node_modules/' + name, '/app/node_modules/' + name, { recursive: true }); \
      for (const dir of ['deps', 'src', 'build/Release/obj', 'build/Release/obj.target', 'build/Release/.deps']) \
        fs.rmSync('/app/node_modules/better-sqlite3/' + dir, { recursive: true, force: true }); \
      fs.mkdirSync('/app/data')"

FROM ${BASE_IMAGE}
ARG SERVICE
ARG PORT
# MALLOC_MMAP_THRESHOLD_ as services/shared/bundle.json's env says (scripts/services-bundle.ts: why).
ENV NODE_ENV=production \
    MALLOC_MMAP_THRESHOLD_=32768 \
    PORT=${PORT} \
    DATABASE_URL=sqlite:/data/${SERVICE}.db
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/main.js ./main.js
# The default SQLite database lives here (a volume keeps it); everything else is read-only to the service.
COPY --from=build --chown=node:node /app/data /data
USER node
EXPOSE ${PORT}
STOPSIGNAL SIGTERM
# node's flags as services/shared/bundle.json's nodeFlags say (scripts/services-bundle.ts: why).
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=50", "main.js"]
