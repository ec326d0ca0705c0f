#!/usr/bin/env bash
# Stops the Slurm started by scripts/slurm/start.sh: cancels every job, then stops slurmrestd,
# slurmd, slurmctld, slurmdbd, mariadbd and munged. It stops only processes recorded in
# $SFLEET_SLURM_DIR/run/*.pid (checked against /proc/PID/comm) and step daemons holding files
# under that directory. `--purge` also deletes the directory. Safe to run when nothing runs.
#   scripts/slurm/stop.sh [--purge] [--quiet]
set -uo pipefail
D=${SFLEET_SLURM_DIR:-/tmp/sfleet-slurm}
purge=0; quiet=0
for a in "$@"; do
  case $a in
    --purge) purge=1 ;;
    --quiet) quiet=1 ;;
    *) echo "usage: $0 [--purge] [--quiet]" >&2; exit 2 ;;
  esac
done
T0=$(date +%s%N)
log() { [ $quiet = 1 ] || { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[slurm stop %d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*" >&2; }; }
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
[ -d "$D" ] || { log "$D does not exist: nothing to stop"; exit 0; }
[ -e "$D/.sfleet-slurm" ] || { echo "$D was not made by scripts/slurm/start.sh (no .sfleet-slurm marker)" >&2; exit 1; }
export SLURM_CONF=$D/etc/slurm.conf
unset SLURM_JWT

pid_of() { # pidfile comm
  local p; p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && echo "$p"
}
gone() { # zombies count as gone: PID 1 may reap our orphaned daemons late
  local st; st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 0
  [ "$st" = Z ] || [ "$st" = X ]
}
stop_pid() { # pid name
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do gone "$1" && { log "stopped $2"; return 0; }; sleep 0.1; done
  log "$2 ($1) ignored SIGTERM for 10 s: SIGKILL"; kill -KILL "$1" 2>/dev/null
}
stop() { # name [comm]
  local p; p=$(pid_of "$D/run/$1.pid" "${2:-$1}") && stop_pid "$p" "$1"
  rm -f "$D/run/$1.pid"
}

# Cancel jobs while slurmctld still runs, so no step daemons are left behind.
if pid_of "$D/run/slurmctld.pid" slurmctld >/dev/null; then
  ids=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
  if [ -n "${ids// /}" ]; then
    log "cancelling jobs $ids"
    timeout 20 scancel $ids 2>/dev/null
    for _ in $(seq 60); do [ -z "$(timeout 5 squeue -h -t R,CG,CF,S -o %A 2>/dev/null)" ] && break; sleep 0.25; done
  fi
fi

stop slurmrestd-local slurmrestd
stop slurmrestd
for f in "$D"/run/slurmd-*.pid; do [ -e "$f" ] && stop "$(basename "$f" .pid)" slurmd; done
stop slurmctld
for c in /proc/[0-9]*/comm; do
  [ "$(cat "$c" 2>/dev/null)" = slurmstepd ] || continue
  p=${c#/proc/}; p=${p%/comm}
  ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "-> $D/" && stop_pid "$p" "slurmstepd $p"
done
stop slurmdbd
stop mariadbd
stop munged
rm -f "$D/munge/munge.socket.2" "$D/munge/munge.socket.2.lock" "$D/rest/slurmrestd.sock" "$D/env"

if [ $purge = 1 ]; then
  [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$D/etc/slurm.conf" ] && rm -f /etc/slurm/slurm.conf
  rm -rf "${D:?}"
  log "removed $D"
fi
log "done"
