#!/usr/bin/env bash
# Checks deploy/systemd/*.service the way systemd itself reads them: `systemd-analyze verify`
# (unknown keys, bad values, missing executables) and `systemd-analyze security` (exposure
# score), both offline against a scratch root. systemd need not be PID 1 for either.
#
#   scripts/release/verify-units.sh [BINARY]
#
# The root holds the system's own unit files (for the targets the units name), kill for
# ExecReload, and BINARY (default: a stand-in script) as /usr/local/bin/sfleet, where the units
# expect the installed binary. Prints one `exposure UNIT SCORE` line per unit on stdout;
# verify's complaints go to stderr and make it exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { echo "[units] $*" >&2; }
die() { log "ERROR: $*"; exit 2; }
if ! command -v systemd-analyze >/dev/null; then
  [ "$(id -u)" = 0 ] || die "systemd-analyze not found (Debian package systemd)"
  . scripts/lib/apt-install.sh
  apt_install_missing systemd procps
fi
ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/usr/local/bin" "$ROOT/etc/systemd/system" "$ROOT/usr/lib/systemd" "$ROOT/usr/bin"
cp -a /usr/lib/systemd/system "$ROOT/usr/lib/systemd/"
cp /usr/bin/kill "$ROOT/usr/bin/kill"   # procps; the shell builtin has no path
ln -s usr/bin "$ROOT/bin"
if [ $# -gt 0 ]; then
  cp "$1" "$ROOT/usr/local/bin/sfleet"
else
  printf '#!/bin/sh\nexit 0\n' >"$ROOT/usr/local/bin/sfleet"
fi
chmod 0755 "$ROOT/usr/local/bin/sfleet"
units=()
for f in deploy/systemd/*.service; do
  cp "$f" "$ROOT/etc/systemd/system/"
  units+=("/etc/systemd/system/$(basename "$f")")
done
err=$(mktemp)
status=0
systemd-analyze verify --root="$ROOT" "${units[@]}" 2>"$err" || status=$?
if [ -s "$err" ] || [ "$status" != 0 ]; then cat "$err" >&2; exit 1; fi
for u in "${units[@]}"; do
  score=$(systemd-analyze security --offline=true --root="$ROOT" "$u" 2>/dev/null \
    | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  echo "exposure $(basename "$u") ${score:-unknown}"
done
