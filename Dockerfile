# syntax=docker/dockerfile:1
# breakwater sidecar image: compiled in a full Node 24 image, run on distroless Node 24 as a
# numeric non-root user with production dependencies only. See docs/kubernetes.md for its size.

ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# --- build: TypeScript → dist/ --------------------------------------------------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` would run the build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- deps: production dependencies only --------------------------------------------------------
FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf /root/.npm
# `breakwater` on PATH, for `kubectl exec POD -c breakwater -- breakwater status`. Distroless has
# no /usr/bin/env, so the launcher names the runtime's node by its absolute path.
RUN printf '#!/nodejs/bin/node\nimport("/app/dist/main.js");\n' > /breakwater \
 && chmod 0755 /breakwater

# --- runtime -------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    BREAKWATER_CONFIG=/etc/breakwater/policy.yaml
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=deps /breakwater /usr/local/bin/breakwater
# 65532 is distroless' `nonroot`; numeric so that `runAsNonRoot` can verify it.
USER 65532:65532
# admin (loopback), proxy (loopback by default), health + metrics (0.0.0.0)
EXPOSE 15000 15001 15021
# SIGTERM starts the drain (readiness fails, calls finish, exit within shutdown.timeout, 25 s).
STOPSIGNAL SIGTERM
# No HEALTHCHECK: Kubernetes ignores it; the kubelet probes /healthz/* on port 15021 instead.
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/main.js"]
CMD ["run"]
