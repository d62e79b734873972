# syntax=docker/dockerfile:1.7
#
# stats-server image. Build from the repository root:
#   DOCKER_BUILDKIT=1 docker build -f deploy/docker/stats.Dockerfile \
#     --build-arg GIT_REVISION="$(git rev-parse HEAD)" -t ghcr.io/autointel/stats-server:dev .
# The build context is the repository root as filtered by /.dockerignore; `bash
# deploy/check.sh` replays this file's COPY and cargo steps on exactly that
# context (deploy/docker/context-check.py), since CI has no container engine.
#
# Runtime contract: runs as 65532:65532 on a read-only root filesystem; the only
# writable paths it needs are /var/lib/autointel (SQLite, when used) and /tmp,
# both mounted as volumes. Configuration comes from --config <file>, AUTOINTEL_*
# env vars and flags; the image sets none of them, so that a mounted config file
# is never silently overridden by an image-level env var.

# Base images by tag. The release pipeline pins both by digest, passing
# --build-arg RUST_IMAGE=rust:1.95-bookworm@sha256:<digest> and
# --build-arg RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:<digest>
# resolved from the registry at release time; no digest is recorded here.
ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
# The git revision the binary reports (.git is not in the build context).
ARG GIT_REVISION=unknown

# --- skeleton: the workspace manifests with stub sources -----------------------
# Copies every crate but keeps only Cargo.toml files (plus stub targets), so the
# dependency layer below depends on the manifests alone and stays cached while
# source code changes. New members under crates/ are picked up without editing
# this; a member elsewhere must be added to the COPY lines and the loop (the
# context check in deploy/check.sh fails until it is). tests/ (the end-to-end
# tests) is a workspace member: cargo cannot load the workspace without its
# manifest, so the context keeps tests/Cargo.toml (and only that, see
# /.dockerignore) and it gets stub targets like the crates.
# A stub build.rs (where the crate has one) makes cargo compile and cache the
# build-dependencies; explicit target paths ([[bin]], [[test]], [lib] path = ...)
# get stubs too, because cargo requires them to exist.
FROM ${RUST_IMAGE} AS skeleton
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY tests/Cargo.toml ./tests/Cargo.toml
RUN set -eu; \
    mkdir -p /skeleton/crates; \
    cp Cargo.toml Cargo.lock /skeleton/; \
    for manifest in crates/*/Cargo.toml tests/Cargo.toml; do \
      dir="$(dirname "$manifest")"; \
      mkdir -p "/skeleton/$dir/src"; \
      cp "$manifest" "/skeleton/$dir/Cargo.toml"; \
      : > "/skeleton/$dir/src/lib.rs"; \
      echo 'fn main() {}' > "/skeleton/$dir/src/main.rs"; \
      if [ -f "$dir/build.rs" ]; then echo 'fn main() {}' > "/skeleton/$dir/build.rs"; fi; \
      grep -E '^[[:space:]]*path[[:space:]]*=[[:space:]]*"[^"]+\.rs"' "$manifest" \
        | sed -E 's/^[^"]*"([^"]+)".*/\1/' \
        | while read -r target; do \
            mkdir -p "/skeleton/$dir/$(dirname "$target")"; \
            [ -f "/skeleton/$dir/$target" ] || echo 'fn main() {}' > "/skeleton/$dir/$target"; \
          done; \
    done

# --- builder -------------------------------------------------------------------
FROM ${RUST_IMAGE} AS builder
ARG PACKAGE=autointel-stats
ARG BIN=stats-server
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0
WORKDIR /src

# 1. dependencies only (cached until a manifest or Cargo.lock changes)
COPY --from=skeleton /skeleton/ ./
RUN --mount=type=cache,id=autointel-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=autointel-cargo-git,target=/usr/local/cargo/git/db,sharing=locked \
    --mount=type=cache,id=autointel-target-bookworm,target=/src/target,sharing=locked \
    cargo build --release --locked -p "${PACKAGE}" --bin "${BIN}"

# 2. the real sources (stubs removed first so none survives as a phantom target);
# data/seed is compiled in (registry embeds the seed with include_str!). tests/
# keeps its stub from the skeleton: the end-to-end tests are not built here.
RUN rm -rf crates
COPY proto ./proto
COPY data/seed ./data/seed
COPY crates ./crates
# touch: COPY keeps the context's mtimes, which can be older than the stub
# artifacts in the cached target dir; cargo would then reuse the stub build.
# The target dir is a cache mount, absent from the image: copy the binary out.
# GIT_REVISION is declared only here, after the dependency layer, so that a new
# revision rebuilds this step alone.
ARG GIT_REVISION
RUN --mount=type=cache,id=autointel-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=autointel-cargo-git,target=/usr/local/cargo/git/db,sharing=locked \
    --mount=type=cache,id=autointel-target-bookworm,target=/src/target,sharing=locked \
    set -eu; \
    find crates proto data -type f -exec touch {} +; \
    AUTOINTEL_GIT_REVISION="${GIT_REVISION}" cargo build --release --locked -p "${PACKAGE}" --bin "${BIN}"; \
    install -D -m 0755 "target/release/${BIN}" "/out/usr/local/bin/${BIN}"; \
    install -d -m 0750 /out/var/lib/autointel

# --- runtime: no shell, no package manager ----------------------------------------
FROM ${RUNTIME_IMAGE}
ARG GIT_REVISION
LABEL org.opencontainers.image.revision="${GIT_REVISION}" \
      org.opencontainers.image.title="stats-server" \
      org.opencontainers.image.description="autointel stats gRPC service: sales statistics from an in-memory engine" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/usr/local/bin/stats-server /usr/local/bin/stats-server
# owned by the runtime user so a fresh named volume inherits writable ownership
COPY --from=builder --chown=65532:65532 /out/var/lib/autointel /var/lib/autointel
USER 65532:65532
# glibc's malloc keeps freed memory in up to 8 arenas a core; two keep a large import's
# transient memory from staying resident (OPERATIONS.md, Capacity model).
ENV MALLOC_ARENA_MAX=2
# 50052 gRPC (health, reflection, API); 9091 Prometheus metrics (HTTP)
EXPOSE 50052 9091
ENTRYPOINT ["/usr/local/bin/stats-server"]
