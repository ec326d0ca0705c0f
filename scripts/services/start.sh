#!/usr/bin/env bash
# Starts the shared-state services of clustered hubs on this machine, for the HA tests and
# local development (Debian 12 packages, run as root):
#
#   eval "$(scripts/services/start.sh)"        # or: scripts/services/start.sh >/dev/null; . "$DIR/env"
#
# What runs, all on loopback, all state under $SFLEET_SERVICES_DIR:
#   etcd1..etcd3   a 3-member etcd 3.4 cluster (etcd-server), raft heartbeat 100 ms,
#                  election timeout 1 s (SFLEET_ETCD_ELECTION_MS)
#   redis          one Redis 7 (redis-server), append-only file on, no RDB snapshots
#
# Idempotent: a member that is already running is left alone, one that is not (killed, or
# never started) is started with the same ports and data, so running this again after a
# `kill -9` restarts exactly what died. Ports come from the environment, or from the first
# start ($DIR/ports), or the defaults below. stdout is only `export` lines, also written to
# $DIR/env; progress goes to stderr. Stop with scripts/services/stop.sh [--purge].
#
#   SFLEET_SERVICES_DIR        default /tmp/sfleet-services/default
#   SFLEET_SERVICES            which to start: "etcd redis" (default), "etcd" or "redis"
#   SFLEET_ETCD_CLIENT_PORTS   three comma-separated ports, default 23791,23792,23793
#   SFLEET_ETCD_PEER_PORTS     three comma-separated ports, default 23801,23802,23803
#   SFLEET_REDIS_PORT          default 26379
#   SFLEET_ETCD_ELECTION_MS    raft election timeout, default 1000 (heartbeat is a tenth)
#   SFLEET_ETCD_HOSTS          three comma-separated addresses the members listen on (default 127.0.0.1)
#   SFLEET_REDIS_HOST          the address Redis listens on (default 127.0.0.1)
#   SFLEET_NETNS_ETCD          three comma-separated network namespaces the members run in
#   SFLEET_NETNS_REDIS         the network namespace Redis runs in (`npm run chaos`'s netns mode,
#                              which makes the namespaces: scripts/chaos/netns/)
set -euo pipefail

D=${SFLEET_SERVICES_DIR:-/tmp/sfleet-services/default}
T0=$(date +%s%N)
log() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[services %d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../lib/apt-install.sh"
[ "$(id -u)" = 0 ] || die "must run as root (installs Debian packages when missing)"
case "$D" in /* ) ;; *) die "SFLEET_SERVICES_DIR must be absolute";; esac
case "$D" in /|/tmp|/tmp/|/var|/usr|/etc|/root) die "refusing SFLEET_SERVICES_DIR=$D";; esac
mkdir -p "$D"
touch "$D/.sfleet-services"   # stop.sh --purge only deletes directories carrying this marker

# The ports of the first start stay the ports of this directory unless the environment says otherwise.
if [ -f "$D/ports" ]; then . "$D/ports"; fi
ETCD_CLIENT_PORTS=${SFLEET_ETCD_CLIENT_PORTS:-${ETCD_CLIENT_PORTS:-23791,23792,23793}}
ETCD_PEER_PORTS=${SFLEET_ETCD_PEER_PORTS:-${ETCD_PEER_PORTS:-23801,23802,23803}}
REDIS_PORT=${SFLEET_REDIS_PORT:-${REDIS_PORT:-26379}}
ELECTION_MS=${SFLEET_ETCD_ELECTION_MS:-${ELECTION_MS:-1000}}
WANT=${SFLEET_SERVICES:-etcd redis}
IFS=, read -r -a CPORTS <<<"$ETCD_CLIENT_PORTS"
IFS=, read -r -a PPORTS <<<"$ETCD_PEER_PORTS"
IFS=, read -r -a EHOSTS <<<"${SFLEET_ETCD_HOSTS:-127.0.0.1,127.0.0.1,127.0.0.1}"
IFS=, read -r -a ENETNS <<<"${SFLEET_NETNS_ETCD:-,,}"
RHOST=${SFLEET_REDIS_HOST:-127.0.0.1}
# Protected mode refuses every client not on loopback: in a namespace the clients come over the
# chaos bridge (a private /24 no other machine reaches), so it is off there.
PROTECTED=yes
if [ -n "${SFLEET_NETNS_REDIS:-}" ]; then PROTECTED=no; fi
# The prefix that runs a daemon in its namespace (nothing without one).
in_netns() { if [ -n "$1" ]; then printf 'ip\nnetns\nexec\n%s\n' "$1"; fi; }
[ ${#CPORTS[@]} = 3 ] && [ ${#PPORTS[@]} = 3 ] || die "SFLEET_ETCD_CLIENT_PORTS and SFLEET_ETCD_PEER_PORTS need three ports each"
printf 'ETCD_CLIENT_PORTS=%s\nETCD_PEER_PORTS=%s\nREDIS_PORT=%s\nELECTION_MS=%s\n' "$ETCD_CLIENT_PORTS" "$ETCD_PEER_PORTS" "$REDIS_PORT" "$ELECTION_MS" >"$D/ports"

# ----------------------------------------------------------------------------- packages
PKGS=()
case " $WANT " in *" etcd "*) PKGS+=(etcd-server);; esac
case " $WANT " in *" redis "*) PKGS+=(redis-server redis-tools);; esac
PKGS+=(curl)
apt_install_missing "${PKGS[@]}"

# A pid file whose process is alive and runs from this directory (etcd names it in its
# arguments; redis rewrites its process title but works in its --dir).
running() {
  local pidfile=$D/$1.pid pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$D/" && return 0
  case "$(readlink "/proc/$pid/cwd" 2>/dev/null)/" in "$D"/*) return 0;; esac
  return 1
}

# ---------------------------------------------------------------------------------- etcd
ENDPOINTS=""
if [[ " $WANT " == *" etcd "* ]]; then
  command -v etcd >/dev/null || die "etcd not found after install (etcd-server)"
  version=$(etcd --version 2>/dev/null | sed -n 1p)
  case "$version" in *"Version: 3.4."*) ;; *) log "warning: expected etcd 3.4, got: $version";; esac
  INITIAL=""
  for i in 1 2 3; do INITIAL+="${INITIAL:+,}etcd$i=http://${EHOSTS[$((i - 1))]}:${PPORTS[$((i - 1))]}"; done
  TOKEN="sfleet-$(printf '%s' "$D" | md5sum | cut -c1-12)"
  started=()
  for i in 1 2 3; do
    name=etcd$i
    c=${CPORTS[$((i - 1))]}
    p=${PPORTS[$((i - 1))]}
    h=${EHOSTS[$((i - 1))]}
    ENDPOINTS+="${ENDPOINTS:+,}http://$h:$c"
    if running "$name"; then continue; fi
    mkdir -p "$D/$name"
    mapfile -t pre < <(in_netns "${ENETNS[$((i - 1))]:-}")
    # With an existing data directory etcd ignores the initial-cluster flags and rejoins.
    "${pre[@]}" setsid etcd --name "$name" --data-dir "$D/$name/data" \
      --listen-client-urls "http://$h:$c" --advertise-client-urls "http://$h:$c" \
      --listen-peer-urls "http://$h:$p" --initial-advertise-peer-urls "http://$h:$p" \
      --initial-cluster "$INITIAL" --initial-cluster-token "$TOKEN" --initial-cluster-state new \
      --heartbeat-interval $((ELECTION_MS / 10)) --election-timeout "$ELECTION_MS" \
      --logger zap --log-level warn --log-outputs stderr \
      </dev/null >>"$D/$name/etcd.log" 2>&1 &
    echo $! >"$D/$name.pid"
    started+=("$name")
  done
  [ ${#started[@]} -gt 0 ] && log "started ${started[*]} (clients $ETCD_CLIENT_PORTS)"
  for i in 1 2 3; do
    c=${CPORTS[$((i - 1))]}
    ok=0
    for _ in $(seq 1 150); do
      if curl -sf --max-time 2 "http://${EHOSTS[$((i - 1))]}:$c/health" 2>/dev/null | grep -q '"health":"true"'; then ok=1; break; fi
      running "etcd$i" || die "etcd$i exited: $(tail -n 5 "$D/etcd$i/etcd.log" 2>/dev/null)"
      sleep 0.2
    done
    [ $ok = 1 ] || die "etcd$i is not healthy after 30 s: $(tail -n 5 "$D/etcd$i/etcd.log" 2>/dev/null)"
  done
  log "etcd healthy: $ENDPOINTS"
fi

# --------------------------------------------------------------------------------- redis
REDIS_URL=""
if [[ " $WANT " == *" redis "* ]]; then
  command -v redis-server >/dev/null || die "redis-server not found after install"
  REDIS_URL="redis://$RHOST:$REDIS_PORT"
  if ! running redis; then
    mkdir -p "$D/redis"
    mapfile -t pre < <(in_netns "${SFLEET_NETNS_REDIS:-}")
    "${pre[@]}" setsid redis-server --bind "$RHOST" --port "$REDIS_PORT" --dir "$D/redis" \
      --appendonly yes --appendfsync everysec --save '' --protected-mode "$PROTECTED" --maxmemory-policy noeviction \
      --daemonize no --logfile "$D/redis/redis.log" </dev/null >/dev/null 2>&1 &
    echo $! >"$D/redis.pid"
    log "started redis (port $REDIS_PORT)"
  fi
  ok=0
  for _ in $(seq 1 150); do
    # LOADING (replaying the AOF) answers PING with an error: wait for PONG.
    if [ "$(redis-cli -h "$RHOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then ok=1; break; fi
    running redis || die "redis exited: $(tail -n 5 "$D/redis/redis.log" 2>/dev/null)"
    sleep 0.2
  done
  [ $ok = 1 ] || die "redis does not answer after 30 s"
  log "redis ready: $REDIS_URL"
fi

{
  echo "export SFLEET_SERVICES_DIR=$D"
  [ -n "$ENDPOINTS" ] && echo "export SFLEET_ETCD_ENDPOINTS=$ENDPOINTS"
  if [ -n "$REDIS_URL" ]; then echo "export SFLEET_REDIS_URL=$REDIS_URL"; fi
} | tee "$D/env"
