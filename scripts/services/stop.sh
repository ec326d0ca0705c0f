#!/usr/bin/env bash
# Stops what scripts/services/start.sh started in $SFLEET_SERVICES_DIR (TERM, then KILL after
# 10 s), by its pid files only. --purge also deletes the directory (data included).
set -euo pipefail
D=${SFLEET_SERVICES_DIR:-/tmp/sfleet-services/default}
case "$D" in /|/tmp|/tmp/|/var|/usr|/etc|/root) echo "refusing SFLEET_SERVICES_DIR=$D" >&2; exit 1;; esac
[ -d "$D" ] || exit 0
pids=()
for pidfile in "$D"/etcd1.pid "$D"/etcd2.pid "$D"/etcd3.pid "$D"/redis.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  # Only a live process that runs from this directory is ours.
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && { tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$D/" || case "$(readlink "/proc/$pid/cwd" 2>/dev/null)/" in "$D"/*) true;; *) false;; esac; }; then
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
  fi
  rm -f "$pidfile"
done
for _ in $(seq 1 100); do
  alive=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 0.1
done
for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
if [ "${1:-}" = --purge ] && [ -f "$D/.sfleet-services" ]; then rm -rf "$D"; fi
