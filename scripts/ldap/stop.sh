#!/usr/bin/env bash
# Stops the slapd of scripts/ldap/start.sh; --purge also deletes its directory.
set -euo pipefail
D=${SFLEET_LDAP_DIR:-/tmp/sfleet-ldap/default}
case "$D" in /tmp/?*) ;; *) echo "SFLEET_LDAP_DIR must be under /tmp" >&2; exit 1;; esac
if [ -f "$D/slapd.pid" ]; then
  pid=$(cat "$D/slapd.pid")
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$D/"; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
fi
if [ "${1:-}" = --purge ]; then rm -rf "$D"; fi
