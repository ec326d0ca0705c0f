#!/usr/bin/env bash
# Installs what the observability tests need from Debian (run as root): `prometheus` (the server
# and promtool, which lints the hub's and the agents' /metrics) and `prometheus-pushgateway`.
# The packages' own services are not started (apt-install.sh forbids it): tests run their own
# instances on free ports. Prints the paths as `export` lines on stdout.
set -euo pipefail
T0=$(date +%s%N)
log() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[prometheus %d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../lib/apt-install.sh"
apt_install_missing prometheus prometheus-pushgateway
for b in promtool prometheus prometheus-pushgateway; do command -v "$b" >/dev/null || die "$b missing after install"; done
echo "export SFLEET_PROMTOOL=$(command -v promtool)"
echo "export SFLEET_PROMETHEUS=$(command -v prometheus)"
echo "export SFLEET_PUSHGATEWAY=$(command -v prometheus-pushgateway)"
