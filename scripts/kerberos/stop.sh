#!/usr/bin/env bash
# Stops the private KDC of scripts/kerberos/start.sh; --purge also removes its directory.
set -euo pipefail
D=${SFLEET_KDC_DIR:-/tmp/sfleet-kdc/default}
case "$D" in /tmp/?*) ;; *) echo "SFLEET_KDC_DIR must be under /tmp" >&2; exit 1;; esac
if [ -f "$D/kdc.pid" ]; then
  pid=$(cat "$D/kdc.pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$D/kdc.pid"
fi
if [ "${1:-}" = --purge ]; then rm -rf "$D"; fi
