#!/usr/bin/env bash
# A Redis master, one replica and three Sentinels on loopback, for the Sentinel failover test
# and local development (Debian 12 redis-server, run as root):
#
#   scripts/services/sentinel.sh start        # idempotent: starts only what is not running
#   scripts/services/sentinel.sh master       # prints host:port of the master Sentinel names now
#   scripts/services/sentinel.sh kill-master  # kill -9 of that master; prints the node (redis1|redis2)
#   scripts/services/sentinel.sh stop [--purge]
#
# The Sentinels watch the master as "$SFLEET_SENTINEL_NAME" with a quorum of 2, declare it down
# after 1 s without an answer (SFLEET_SENTINEL_DOWN_MS) and promote the replica. Each node has
# its own redis.conf (written once), so what Sentinel rewrites there (who replicates whom)
# survives a restart: `start` after `kill-master` brings the old master back as a replica.
# stdout of `start` is only `export` lines (also in $DIR/env); progress goes to stderr.
#
#   SFLEET_SENTINEL_DIR          default /tmp/sfleet-sentinel/default
#   SFLEET_SENTINEL_REDIS_PORTS  two ports, the first master and the replica, default 26479,26480
#   SFLEET_SENTINEL_PORTS        three Sentinel ports, default 26579,26580,26581
#   SFLEET_SENTINEL_NAME         the master's name, default mymaster
#   SFLEET_SENTINEL_DOWN_MS      down-after-milliseconds, default 1000
#
# TLS mode (all three set; PEM files, e.g. from the test CA): every node and Sentinel listens on
# its port with TLS only (tls-port, port 0), asks clients for a certificate of that CA
# (tls-auth-clients), and the replica and Sentinels reach the master over TLS
# (tls-replication yes), using this certificate as their client certificate.
#   SFLEET_SENTINEL_TLS_CA  SFLEET_SENTINEL_TLS_CERT  SFLEET_SENTINEL_TLS_KEY
# ACL mode (both set): the data nodes' default user is off; the hubs' user may only touch
# SFLEET_SENTINEL_KEYS (default sfleet:*) as docs/security-guide.md says; replication and the
# Sentinels log in as sfleet-admin, whose random password stays in $DIR/admin.pass (0600).
# The Sentinels themselves take no password (the hubs ask them without one).
#   SFLEET_SENTINEL_USER  SFLEET_SENTINEL_PASSWORD  SFLEET_SENTINEL_KEYS
set -euo pipefail

D=${SFLEET_SENTINEL_DIR:-/tmp/sfleet-sentinel/default}
T0=$(date +%s%N)
log() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[sentinel %d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../lib/apt-install.sh"
case "$D" in /* ) ;; *) die "SFLEET_SENTINEL_DIR must be absolute";; esac
case "$D" in /|/tmp|/tmp/|/var|/usr|/etc|/root) die "refusing SFLEET_SENTINEL_DIR=$D";; esac
CMD=${1:-start}

if [ -f "$D/ports" ]; then . "$D/ports"; fi
REDIS_PORTS=${SFLEET_SENTINEL_REDIS_PORTS:-${REDIS_PORTS:-26479,26480}}
SENTINEL_PORTS=${SFLEET_SENTINEL_PORTS:-${SENTINEL_PORTS:-26579,26580,26581}}
NAME=${SFLEET_SENTINEL_NAME:-${NAME:-mymaster}}
DOWN_MS=${SFLEET_SENTINEL_DOWN_MS:-${DOWN_MS:-1000}}
TLS_CA=${SFLEET_SENTINEL_TLS_CA:-${TLS_CA:-}}
TLS_CERT=${SFLEET_SENTINEL_TLS_CERT:-${TLS_CERT:-}}
TLS_KEY=${SFLEET_SENTINEL_TLS_KEY:-${TLS_KEY:-}}
ACL_USER=${SFLEET_SENTINEL_USER:-${ACL_USER:-}}
ACL_KEYS=${SFLEET_SENTINEL_KEYS:-${ACL_KEYS:-sfleet:*}}
if [ -n "$TLS_CA$TLS_CERT$TLS_KEY" ] && { [ -z "$TLS_CA" ] || [ -z "$TLS_CERT" ] || [ -z "$TLS_KEY" ]; }; then
  die "TLS mode needs SFLEET_SENTINEL_TLS_CA, SFLEET_SENTINEL_TLS_CERT and SFLEET_SENTINEL_TLS_KEY"
fi
IFS=, read -r -a RPORTS <<<"$REDIS_PORTS"
IFS=, read -r -a SPORTS <<<"$SENTINEL_PORTS"
[ ${#RPORTS[@]} = 2 ] && [ ${#SPORTS[@]} = 3 ] || die "SFLEET_SENTINEL_REDIS_PORTS needs two ports, SFLEET_SENTINEL_PORTS three"
NODES=(redis1 redis2 sentinel1 sentinel2 sentinel3)

# redis-cli with the TLS options of TLS mode; `data` logs in to a data node as sfleet-admin in ACL mode.
# The password goes to this one redis-cli only (not exported: the daemons started later must not
# inherit it in their environment).
cli() {
  local args=() auth=""
  [ -n "$TLS_CA" ] && args+=(--tls --cacert "$TLS_CA" --cert "$TLS_CERT" --key "$TLS_KEY")
  if [ "$1" = data ] && [ -n "$ACL_USER" ]; then
    args+=(--user sfleet-admin --no-auth-warning)
    auth=$(cat "$D/admin.pass")
  fi
  shift
  if [ -n "$auth" ]; then REDISCLI_AUTH=$auth redis-cli "${args[@]}" "$@"; else redis-cli "${args[@]}" "$@"; fi
}

# The listener and TLS lines of a node's or Sentinel's config.
listen_conf() {
  if [ -n "$TLS_CA" ]; then
    echo "port 0"
    echo "tls-port $1"
    echo "tls-cert-file $TLS_CERT"
    echo "tls-key-file $TLS_KEY"
    echo "tls-ca-cert-file $TLS_CA"
    echo "tls-auth-clients yes"
    echo "tls-replication yes"
  else
    echo "port $1"
  fi
}

# A pid file whose process is alive and works in this directory (redis rewrites its title).
running() {
  local pidfile=$D/$1.pid pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  case "$(readlink "/proc/$pid/cwd" 2>/dev/null)/" in "$D"/*) return 0;; esac
  return 1
}

# Alive at all (just started, it may not have moved into its directory yet).
alive() { [ -f "$D/$1.pid" ] && kill -0 "$(cat "$D/$1.pid")" 2>/dev/null; }

# host:port of the master, as the first Sentinel that answers says.
master() {
  local p out
  for p in "${SPORTS[@]}"; do
    out=$(cli sentinel -h 127.0.0.1 -p "$p" --raw sentinel get-master-addr-by-name "$NAME" 2>/dev/null | paste -sd: -) || continue
    case "$out" in *:[0-9]*) echo "$out"; return 0;; esac
  done
  return 1
}

stop() {
  [ -d "$D" ] || return 0
  local pids=() n pid
  for n in "${NODES[@]}"; do
    if running "$n"; then pid=$(cat "$D/$n.pid"); kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
    rm -f "$D/$n.pid"
  done
  for _ in $(seq 1 100); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ "${1:-}" = --purge ] && [ -f "$D/.sfleet-sentinel" ]; then rm -rf "$D"; fi
}

install_redis() {
  [ "$(id -u)" = 0 ] || { command -v redis-server >/dev/null && return 0; die "redis-server is missing and installing it needs root"; }
  apt_install_missing redis-server redis-tools
}

start() {
  install_redis
  mkdir -p "$D"
  chmod 700 "$D"   # the configs hold the ACL passwords
  touch "$D/.sfleet-sentinel"   # stop --purge only deletes directories carrying this marker
  printf 'REDIS_PORTS=%s\nSENTINEL_PORTS=%s\nNAME=%s\nDOWN_MS=%s\nTLS_CA=%s\nTLS_CERT=%s\nTLS_KEY=%s\nACL_USER=%s\nACL_KEYS=%s\n' \
    "$REDIS_PORTS" "$SENTINEL_PORTS" "$NAME" "$DOWN_MS" "$TLS_CA" "$TLS_CERT" "$TLS_KEY" "$ACL_USER" "$ACL_KEYS" >"$D/ports"
  if [ -n "$ACL_USER" ] && [ ! -f "$D/admin.pass" ]; then
    [ -n "${SFLEET_SENTINEL_PASSWORD:-}" ] || die "ACL mode needs SFLEET_SENTINEL_PASSWORD (the hubs' password) on its first start"
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$D/admin.pass")
  fi
  local i n conf started=()
  for i in 1 2; do
    n=redis$i conf=$D/redis$i/redis.conf
    mkdir -p "$D/$n"
    if [ ! -f "$conf" ]; then
      {
        echo "bind 127.0.0.1"
        listen_conf "${RPORTS[$((i - 1))]}"
        echo "dir $D/$n"
        echo "logfile $D/$n/redis.log"
        echo "appendonly yes"
        echo "appendfsync everysec"
        echo "maxmemory-policy noeviction"
        echo 'save ""'
        echo "replica-announce-ip 127.0.0.1"
        if [ -n "$ACL_USER" ]; then
          echo "user default off"
          echo "user sfleet-admin on >$(cat "$D/admin.pass") ~* &* +@all"
          echo "user $ACL_USER on >$SFLEET_SENTINEL_PASSWORD resetkeys ~$ACL_KEYS resetchannels &$ACL_KEYS -@all +@read +@write +@stream +@hash +@set +@string +@list +@sortedset +@keyspace +@scripting +@pubsub +@transaction +@connection +info +role -flushall -flushdb -keys"
          # Either node may be the replica after a failover.
          echo "masteruser sfleet-admin"
          echo "masterauth $(cat "$D/admin.pass")"
        fi
        [ $i = 2 ] && echo "replicaof 127.0.0.1 ${RPORTS[0]}"
      } >"$conf"
      chmod 600 "$conf"
    fi
    running "$n" && continue
    setsid redis-server "$conf" --daemonize no </dev/null >/dev/null 2>&1 &
    echo $! >"$D/$n.pid"
    started+=("$n")
  done
  for i in 1 2; do
    local port=${RPORTS[$((i - 1))]} ok=0
    for _ in $(seq 1 150); do
      if [ "$(cli data -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then ok=1; break; fi
      alive "redis$i" || die "redis$i exited: $(tail -n 5 "$D/redis$i/redis.log" 2>/dev/null)"
      sleep 0.2
    done
    [ $ok = 1 ] || die "redis$i does not answer after 30 s"
  done
  # The master to watch: whom the Sentinels know already, else redis1 (first start).
  local mport=${RPORTS[0]}
  local known; known=$(master) && mport=${known##*:}
  for i in 1 2 3; do
    n=sentinel$i conf=$D/$n/sentinel.conf
    mkdir -p "$D/$n"
    if [ ! -f "$conf" ]; then
      {
        echo "bind 127.0.0.1"
        listen_conf "${SPORTS[$((i - 1))]}"
        echo "dir $D/$n"
        echo "logfile $D/$n/sentinel.log"
        echo "sentinel announce-ip 127.0.0.1"
        echo "sentinel monitor $NAME 127.0.0.1 $mport 2"
        echo "sentinel down-after-milliseconds $NAME $DOWN_MS"
        echo "sentinel failover-timeout $NAME 10000"
        echo "sentinel parallel-syncs $NAME 1"
        if [ -n "$ACL_USER" ]; then
          echo "sentinel auth-user $NAME sfleet-admin"
          echo "sentinel auth-pass $NAME $(cat "$D/admin.pass")"
        fi
      } >"$conf"
      chmod 600 "$conf"
    fi
    running "$n" && continue
    setsid redis-server "$conf" --sentinel --daemonize no </dev/null >/dev/null 2>&1 &
    echo $! >"$D/$n.pid"
    started+=("$n")
  done
  [ ${#started[@]} -gt 0 ] && log "started ${started[*]} (redis $REDIS_PORTS, sentinels $SENTINEL_PORTS)"
  # Ready: every Sentinel can fail over, and the master has its replica online.
  local ok=0 addr info
  for _ in $(seq 1 150); do
    ok=1
    for i in 1 2 3; do
      alive "sentinel$i" || die "sentinel$i exited: $(tail -n 5 "$D/sentinel$i/sentinel.log" 2>/dev/null)"
      # A failover needs each Sentinel to know the replica and the two other Sentinels.
      info=$(cli sentinel -h 127.0.0.1 -p "${SPORTS[$((i - 1))]}" --raw sentinel master "$NAME" 2>/dev/null | paste -sd' ' -) || info=""
      case " $info " in *" num-slaves 1 "*) ;; *) ok=0; break;; esac
      case " $info " in *" num-other-sentinels 2 "*) ;; *) ok=0; break;; esac
    done
    if [ $ok = 1 ]; then
      addr=$(master)
      cli data -h "${addr%%:*}" -p "${addr##*:}" info replication 2>/dev/null | grep -q '^connected_slaves:[1-9]' || ok=0
    fi
    [ $ok = 1 ] && break
    sleep 0.2
  done
  [ $ok = 1 ] || die "Sentinels and replication not ready after 30 s"
  log "master $(master), sentinels $SENTINEL_PORTS"
  local list=""
  for p in "${SPORTS[@]}"; do list+="${list:+,}127.0.0.1:$p"; done
  {
    echo "export SFLEET_SENTINEL_DIR=$D"
    echo "export SFLEET_REDIS_SENTINELS=$list"
    echo "export SFLEET_REDIS_SENTINEL_NAME=$NAME"
  } | tee "$D/env"
}

kill_master() {
  local addr port i
  addr=$(master) || die "no Sentinel names a master"
  port=${addr##*:}
  for i in 1 2; do
    if [ "${RPORTS[$((i - 1))]}" = "$port" ]; then
      running "redis$i" || die "the master redis$i ($addr) is not running"
      kill -KILL "$(cat "$D/redis$i.pid")"
      log "killed redis$i ($addr) with -9"
      echo "redis$i"
      return 0
    fi
  done
  die "the master $addr is none of this directory's nodes"
}

case "$CMD" in
  start) start;;
  stop) stop "${2:-}";;
  master) master || die "no Sentinel names a master";;
  kill-master) kill_master;;
  *) die "usage: $0 start|stop [--purge]|master|kill-master";;
esac
