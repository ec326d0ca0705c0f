#!/usr/bin/env bash
# Builds the container image of slurmfleet: FROM scratch, with the single binary, the shared
# libraries it and its embedded DuckDB load (found with ldd, so the image follows the binary),
# the third-party notices, a non-root user and the directories hub and agent write. No base
# image is pulled: none can be here, and nothing but what the binary needs is in the image.
#
#   scripts/release/build-image.sh [--binary FILE] [--tag NAME] [--archive FILE] [--smoke]
#
# buildah (Debian) with vfs storage and chroot isolation, as root: it needs no daemon, no
# overlay filesystem and no user namespaces, so it runs on CI machines and inside containers.
# --archive also writes the image as an OCI archive (a release artifact `podman load` or
# `skopeo copy` take); --smoke runs `sfleet --version` inside the image.
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { echo "[build-image] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

BINARY=dist/release/sfleet-linux-x64
TAG=
ARCHIVE=
SMOKE=false
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BINARY=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    --archive) ARCHIVE=$2; shift 2 ;;
    --smoke) SMOKE=true; shift ;;
    *) die "unknown option $1" ;;
  esac
done
[ -x "$BINARY" ] || die "$BINARY is not an executable: build it first (npm run build:binary)"
VERSION=$(node -p "require('./package.json').version")
TAG=${TAG:-localhost/sfleet:$VERSION}
if ! command -v buildah >/dev/null; then
  [ "$(id -u)" = 0 ] || die "buildah not found: apt-get install buildah"
  . scripts/lib/apt-install.sh
  apt_install_missing buildah
fi
# buildah 1.28 ignores STORAGE_DRIVER: the driver is given on every call.
bah() { buildah --storage-driver vfs "$@"; }
export BUILDAH_ISOLATION=chroot

ROOTFS=$(mktemp -d)
CTR=
cleanup() {
  rm -rf "$ROOTFS"
  [ -z "$CTR" ] || bah rm "$CTR" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The libraries: what the binary links, and what DuckDB's addon links (it is extracted from the
# binary and loaded at run time, so ldd of the binary alone does not show them).
copy_libs() {
  # DuckDB's own libduckdb.so is in the binary already (extracted next to its addon): only the system's.
  ldd "$1" | awk '/=> \// { print $3 } /^\s*\/[^ ]+ \(/ { print $1 }' | grep -v '/node_modules/' | while read -r lib; do
    mkdir -p "$ROOTFS$(dirname "$lib")"
    cp -L "$lib" "$ROOTFS$lib"
  done
}
copy_libs "$BINARY"
for f in node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so node_modules/@duckdb/node-bindings-linux-x64/duckdb.node; do
  [ -f "$f" ] && copy_libs "$f"
done
[ -e "$ROOTFS/lib64/ld-linux-x86-64.so.2" ] || die "ldd did not name the dynamic loader of $BINARY"

install -D -m 0755 "$BINARY" "$ROOTFS/usr/bin/sfleet"
mkdir -p "$ROOTFS/usr/share/doc/sfleet"
"$BINARY" version --notices >"$ROOTFS/usr/share/doc/sfleet/THIRD_PARTY_NOTICES.txt"
mkdir -p "$ROOTFS/etc" "$ROOTFS/etc/sfleet" "$ROOTFS/var/lib/sfleet" "$ROOTFS/var/cache/sfleet" "$ROOTFS/tmp"
chmod 1777 "$ROOTFS/tmp"
# 65532: the conventional "nonroot" of distroless images, so volume permissions carry over.
printf 'root:x:0:0:root:/root:/sbin/nologin\nsfleet:x:65532:65532:slurmfleet:/var/lib/sfleet:/sbin/nologin\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nsfleet:x:65532:\n' >"$ROOTFS/etc/group"
chown -R 65532:65532 "$ROOTFS/var/lib/sfleet" "$ROOTFS/var/cache/sfleet"

CTR=$(bah from scratch)
# Copied through the mount, not `buildah copy`: that would make every file root's, and the
# data and cache directories must belong to the image's user.
cp -a "$ROOTFS/." "$(bah mount "$CTR")/"
bah umount "$CTR" >/dev/null
bah config \
  --entrypoint '["/usr/bin/sfleet"]' --cmd '["hub","--config","/etc/sfleet/hub.yaml"]' \
  --user 65532:65532 --workingdir /var/lib/sfleet \
  --env XDG_CACHE_HOME=/var/cache/sfleet \
  --port 8443/tcp --port 7443/tcp \
  --volume /var/lib/sfleet \
  --label org.opencontainers.image.title=slurmfleet \
  --label org.opencontainers.image.version="$VERSION" \
  --label org.opencontainers.image.description="Fleet manager for Slurm clusters: hub and agent in one binary" \
  --label org.opencontainers.image.licenses="$(node -p "require('./package.json').license")" \
  "$CTR"
bah commit --quiet --rm "$CTR" "$TAG" >/dev/null
CTR=
log "built $TAG"
if [ -n "$ARCHIVE" ]; then
  mkdir -p "$(dirname "$ARCHIVE")"
  rm -f "$ARCHIVE"
  bah push --quiet "$TAG" "oci-archive:$ARCHIVE:$TAG" >/dev/null
  log "wrote $ARCHIVE"
fi
if $SMOKE; then
  CTR=$(bah from "$TAG")
  bah run "$CTR" -- /usr/bin/sfleet --version
fi
