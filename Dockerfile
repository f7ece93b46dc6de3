# syntax=docker/dockerfile:1
#
# Paymon container image.
#   docker build -t paymon --build-arg VERSION=$(git describe --tags --always) .
#
# Stage 1 builds the Angular dashboard, stage 2 the static Go binary that
# embeds it, stage 3 is a distroless image that holds only the binary.
# The first two stages run on the build machine's platform (the web bundle
# is platform independent and Go cross-compiles), so multi-platform builds
# (linux/amd64, linux/arm64) do not need emulation.

ARG NODE_VERSION=20
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-bookworm AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
COPY --from=web /src/web/dist ./web/dist
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH:-amd64} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/paymon ./cmd/paymon \
 && mkdir -p -m 0700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="paymon" \
      org.opencontainers.image.description="Payments, log monitoring and live dashboards in one binary" \
      org.opencontainers.image.source="https://github.com/paymon/paymon" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/paymon /paymon
# /data must exist and belong to the nonroot user (65532) before VOLUME,
# so a fresh named volume inherits that ownership.
COPY --from=build --chown=65532:65532 /out/data /data
ENV PAYMON_ADDR=0.0.0.0:8080 \
    PAYMON_DATA_DIR=/data
USER 65532:65532
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/paymon", "healthcheck"]
ENTRYPOINT ["/paymon"]
CMD ["serve"]
