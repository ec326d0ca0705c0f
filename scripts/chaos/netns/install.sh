#!/usr/bin/env bash
# Installs what `npm run chaos`'s netns mode needs (Debian 12, run as root): iproute2 for the
# namespaces, veths and bridge, nftables for the faults. Run by scripts/chaos/main.ts before it
# probes whether namespaces work; packages already there cost no apt call.
set -euo pipefail
log() { printf '[chaos install] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/apt-install.sh"
[ "$(id -u)" = 0 ] || die "must run as root"
apt_install_missing iproute2 nftables
