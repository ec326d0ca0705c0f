#!/usr/bin/env bash
# Prints the path of a minimal Debian 12 root with systemd, for booting with systemd-nspawn
# (test/harness/booted-debian.ts boots it for test/systemd-boot.test.ts and
# test/ansible-booted.test.ts: systemd is not PID 1 on the build machines). Made once with
# debootstrap from Debian's mirror and kept in the release cache; the first run takes minutes.
# Installs debootstrap and systemd-container when missing.
#
#   scripts/release/debian-rootfs.sh
#
# libatomic1 is in it because the binary's Node.js links libatomic.so.1, which minimal Debian
# and RHEL installs lack: the install script checks for it, and the root must have it.
# python3 because Ansible's modules run on the managed machine (test/ansible-booted.test.ts); a
# cached root made before it was added is made again.
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/sfleet-release
ROOTFS=$CACHE/debian12-systemd
log() { echo "[debian-rootfs] $*" >&2; }
die() { log "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "debootstrap and systemd-nspawn need root"
. scripts/lib/apt-install.sh
apt_install_missing debootstrap systemd-container >&2
if [ ! -x "$ROOTFS/usr/lib/systemd/systemd" ] || [ ! -x "$ROOTFS/usr/bin/python3" ]; then
  mkdir -p "$CACHE"
  TMP=$(mktemp -d "$CACHE/debian12.XXXXXX")
  trap 'rm -rf "$TMP"' EXIT
  MIRROR=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/* *$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libatomic1,python3 bookworm "$TMP/root" "${MIRROR:-http://deb.debian.org/debian}" >&2
  rm -rf "$ROOTFS"
  mv "$TMP/root" "$ROOTFS"
fi
echo "$ROOTFS"
