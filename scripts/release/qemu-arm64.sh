#!/usr/bin/env bash
# Runs a linux-arm64 program on this x64 machine: Debian's qemu-user-static with the arm64 cross
# libc (and the C++, atomic and gcc runtime libraries Node links) as its sysroot. Installs the
# packages when missing (root). The arm64 single binary is tested this way in CI.
#
#   scripts/release/qemu-arm64.sh PROGRAM [ARGS...]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { echo "[qemu-arm64] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
if ! command -v qemu-aarch64-static >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/libatomic.so.1 ]; then
  [ "$(id -u)" = 0 ] || die "needs qemu-user-static and the arm64 cross libraries: run as root once"
  . "$HERE/../lib/apt-install.sh"
  apt_install_missing qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross libatomic1-arm64-cross
fi
exec qemu-aarch64-static -L /usr/aarch64-linux-gnu "$@"
