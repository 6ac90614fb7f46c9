#!/usr/bin/env bash
# Build the air-gapped base image `fink/debian:bookworm` from Debian packages: debootstrap a minimal
# bookworm root filesystem, then `docker import` it. No registry, no pull: this works on closed networks.
#   deploy/docker/base-image.sh            build it unless the image exists (idempotent)
#   deploy/docker/base-image.sh --rebuild  build it again
# On a machine that can pull, skip this and pass `--build-arg BASE_IMAGE=debian:bookworm-slim` instead
# (see deploy/README.md). Env: FINK_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

IMAGE="${FINK_BASE_IMAGE:-fink/debian:bookworm}"
MIRROR="${FINK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE="bookworm"

say() { printf 'base-image: %s\n' "$*"; }
sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ "${1:-}" != "--rebuild" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "$IMAGE already exists ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
  exit 0
fi

rootfs="$(mktemp -d /tmp/fink-rootfs.XXXXXX)"
trap 'sudo_ rm -rf "$rootfs"' EXIT
t0=$SECONDS
say "debootstrap --variant=minbase $SUITE from $MIRROR"
sudo_ debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 \
  || { tail -20 "$rootfs.log" >&2; exit 1; }
# the security and updates suites, so that images built on top get Debian's fixes
cat <<SOURCES | sudo_ tee "$rootfs/etc/apt/sources.list" >/dev/null
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
SOURCES
# keep images small: no docs, no apt caches
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
  | sudo_ tee "$rootfs/etc/dpkg/dpkg.cfg.d/01-nodoc" >/dev/null
sudo_ rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
say "docker import -> $IMAGE"
sudo_ tar -C "$rootfs" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' \
  --message "debootstrap --variant=minbase $SUITE $MIRROR" - "$IMAGE" >/dev/null
rm -f "$rootfs.log"
say "built $IMAGE in $((SECONDS - t0)) s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
