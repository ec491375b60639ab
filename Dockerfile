# ackstate: one image for both services.
#   docker build -t ackstate .
#   docker run ackstate                          # both services in one process
#   docker run ackstate node dist/main.js user   # or one of them (compose.yml runs them apart)
# Settings come from the environment: see src/app/config.ts.

# ---- build: all dependencies, compile src/ to dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and dist/ only ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HTTP_HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev \
    && npm cache clean --force
COPY --from=build /app/dist ./dist
# The files stay owned by root: the service can read its code but not change it.
USER node
EXPOSE 3000 3001
# No curl in the slim image: node's own fetch asks for liveness on this process's HTTP_PORT.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
