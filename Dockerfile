# syntax=docker/dockerfile:1
#
# licensectl serve in a container: a static, CGO-free binary on a distroless
# base, running as a non-root user, its SQLite store in the /data volume.
#
#   docker build -t licensectl .
#   docker run -d -p 8080:8080 -v licensectl-data:/data licensectl
#   docker exec <container> licensectl --db /data/licensectl.db accounts create ops@example.com
#
# The last stage ("image") builds from source. goreleaser builds the
# "release" stage instead (--target=release), which copies the binary it
# built already for each platform (see .goreleaser.yaml, dockers_v2).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH VERSION=dev COMMIT=none DATE=unknown
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE" \
      -o /out/licensectl .

# What both images share: the base, the user, the volume, the entry point
# and the health check (the binary probes /healthz itself: the image has
# no shell and no curl).
FROM gcr.io/distroless/static-debian12:nonroot AS base
# /data must belong to the user before a volume is mounted on it (a new
# volume takes the ownership of the image's directory).
COPY --chown=65532:65532 <<EOF /data/README
licensectl keeps its SQLite store here (LICENSECTL_DB=/data/licensectl.db).
EOF
VOLUME ["/data"]
ENV LICENSECTL_DB=/data/licensectl.db
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/licensectl", "healthcheck", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/licensectl", "serve", "--init", "--addr", ":8080"]

FROM base AS release
ARG TARGETPLATFORM
COPY $TARGETPLATFORM/licensectl /licensectl

FROM base AS image
COPY --from=build /out/licensectl /licensectl
