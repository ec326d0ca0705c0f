#!/usr/bin/env bash
# Starts the project's own Slurm 22.05 (Debian 12 packages) on this machine, for the
# integration tests and local development. Run as root:
#
#   eval "$(sudo scripts/slurm/start.sh)"      # or: scripts/slurm/start.sh >/dev/null; . /tmp/sfleet-slurm/env
#
# What runs, all on loopback, all state under $SFLEET_SLURM_DIR:
#   munged (own key and socket), mariadbd + slurmdbd (accounting), slurmctld,
#   node1..node4 with one slurmd each (fake 4 CPUs, 8000 MB), node5 listed DOWN (no slurmd),
#   partitions debug (node[1-2], default) and batch (node[1-5]), QOS normal/high/low,
#   accounts research (root, alice) and ops (bob, slurmrestd), limits enforced
#   (AccountingStorageEnforce=associations,limits,qos: only users with an association submit),
#   slurmrestd rest_auth/jwt on TCP and slurmrestd rest_auth/local on a unix socket.
#
# Idempotent: when everything is up and the config is unchanged it only prints the env.
# Otherwise it stops what it started before and starts afresh (job ids restart at 1 unless
# SFLEET_SLURM_KEEP_STATE=1). stdout is only `export` lines, also written to $DIR/env;
# progress goes to stderr. Stop with scripts/slurm/stop.sh [--purge].
set -euo pipefail

D=${SFLEET_SLURM_DIR:-/tmp/sfleet-slurm}
CLUSTER=${SFLEET_SLURM_CLUSTER:-localcluster}
CTLD_PORT=${SFLEET_SLURM_CTLD_PORT:-6817}
DBD_PORT=${SFLEET_SLURM_DBD_PORT:-6819}
REST_PORT=${SFLEET_SLURM_REST_PORT:-6820}
DB_PORT=${SFLEET_SLURM_DB_PORT:-13306}
SLURMD_BASE_PORT=${SFLEET_SLURM_SLURMD_BASE_PORT:-17000}   # nodeI listens on BASE+I
JWT_LIFESPAN=${SFLEET_SLURM_JWT_LIFESPAN:-86400}
KEEP_STATE=${SFLEET_SLURM_KEEP_STATE:-0}
FORCE_RESTART=${SFLEET_SLURM_FORCE_RESTART:-0}
NODES=4                  # node1..node4 run a slurmd; node5 is listed but always DOWN
REST_USER=slurmrestd     # slurmrestd refuses to run as root (our SlurmUser)
TEST_USERS="alice bob"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T0=$(date +%s%N)
log() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[slurm %d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$HERE/../lib/apt-install.sh"
[ "$(id -u)" = 0 ] || die "must run as root"
case "$D" in /* ) ;; *) die "SFLEET_SLURM_DIR must be absolute";; esac
case "$D" in /|/tmp|/tmp/|/var|/usr|/etc|/root) die "refusing SFLEET_SLURM_DIR=$D";; esac

export SLURM_CONF=$D/etc/slurm.conf
# A SLURM_JWT in our environment (a sourced env file) switches the CLI to auth/jwt: use munge.
unset SLURM_JWT
MUNGE_SOCK=$D/munge/munge.socket.2
DB_SOCK=$D/mysql/mysqld.sock
REST_SOCK=$D/rest/slurmrestd.sock
REST_URL=http://127.0.0.1:$REST_PORT

# ----------------------------------------------------------------------------- packages
PKGS=(slurm-wlm slurmrestd slurm-wlm-jwt-plugin munge curl slurmdbd mariadb-server)
apt_install_missing "${PKGS[@]}"
for b in munged mariadbd mariadb-install-db slurmdbd slurmctld slurmd slurmrestd scontrol sacctmgr curl; do
  command -v $b >/dev/null || die "$b not found after install"
done
ls /usr/lib/*/slurm-wlm/auth_jwt.so >/dev/null 2>&1 || die "auth_jwt.so missing (slurm-wlm-jwt-plugin)"

# ------------------------------------------------------------------------ users, dirs
for u in $REST_USER $TEST_USERS; do
  getent passwd "$u" >/dev/null || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u"
done
mkdir -p "$D"/{etc,run,log,ctld,spool,munge,rest,mysql}
touch "$D/.sfleet-slurm"   # stop.sh --purge only deletes directories carrying this marker
# slurmrestd (not root) must reach the config and its socket: the tree is world-traversable.
chmod 755 "$D" "$D"/{etc,run,log,spool,munge}; chmod 700 "$D/ctld" "$D/mysql"
chown $REST_USER "$D/rest"; chmod 755 "$D/rest"
[ -s "$D/munge/munge.key" ] || dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 status=none
[ -s "$D/etc/jwt_hs256.key" ] || dd if=/dev/urandom of="$D/etc/jwt_hs256.key" bs=32 count=1 status=none
chmod 600 "$D/munge/munge.key" "$D/etc/jwt_hs256.key"

# ----------------------------------------------------------------------------- config
slurm_conf() {
  cat <<EOF
# Written by scripts/slurm/start.sh; rewritten on every start.
ClusterName=$CLUSTER
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCK
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$D/etc/jwt_hs256.key
StateSaveLocation=$D/ctld
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
# No cgroups: CPUs and memory below are fake and not enforced.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=5
# Room for the 8,000-job benchmarks (array tasks count one by one, even pending).
MaxJobCount=50000
MaxArraySize=10001
MinJobAge=600
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
# With SLURM_JWT in a job's environment srun would use auth/jwt, which slurmd refuses.
TaskProlog=$D/etc/task_prolog.sh
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
# Slurm takes the munge socket for slurmdbd connections from here, not from AuthInfo.
AccountingStoragePass=$MUNGE_SOCK
# Association limits are real (the hub's quota policy slurm writes them): a user without an
# association cannot submit, and GrpJobs/GrpSubmitJobs/GrpTRES hold or refuse the excess.
AccountingStorageEnforce=associations,limits,qos
AccountingStorageTRES=gres/gpu
# Two GPUs per node (stand-in devices, see gres.conf): gres/gpu TRES, GPU quotas and gauges are real.
GresTypes=gpu
JobAcctGatherType=jobacct_gather/linux
PriorityType=priority/multifactor
PriorityWeightQOS=1000
PriorityWeightAge=100
EOF
  local i
  for i in $(seq 1 $((NODES + 1))); do
    printf 'NodeName=node%d NodeHostname=localhost NodeAddr=127.0.0.1 Port=%d CPUs=4 CoresPerSocket=4 ThreadsPerCore=1 RealMemory=8000 Gres=gpu:2' \
      "$i" $((SLURMD_BASE_PORT + i))
    if [ "$i" -le $NODES ]; then echo ' State=UNKNOWN'; else echo ' State=DOWN Reason="no slurmd (always down)"'; fi
  done
  echo "PartitionName=debug Nodes=node[1-2] Default=YES MaxTime=30:00 DefaultTime=5:00 State=UP"
  echo "PartitionName=batch Nodes=node[1-$((NODES + 1))] MaxTime=INFINITE DefaultTime=1:00:00 State=UP"
}
slurmdbd_conf() {
  cat <<EOF
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCK
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$D/etc/jwt_hs256.key
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
LogFile=$D/log/slurmdbd.log
PidFile=$D/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=sfleet
StorageLoc=slurm_acct_db
EOF
}
changed=0
put() { # file mode content: rewrite only when different, so an unchanged config keeps the cluster
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$3" ]; then printf '%s\n' "$3" >"$1"; changed=1; fi
  chmod "$2" "$1"
}
put "$D/etc/task_prolog.sh" 755 "$(printf '#!/bin/sh\necho "unset SLURM_JWT"')"
put "$SLURM_CONF" 644 "$(slurm_conf)"
# Slurm 22.05 drops GPUs without a File; two character devices standing in for /dev/nvidia0-1
# (the same device as /dev/null: no job touches them, task/none binds nothing).
mkdir -p "$D/dev"
for g in 0 1; do [ -c "$D/dev/nvidia$g" ] || { rm -f "$D/dev/nvidia$g"; mknod "$D/dev/nvidia$g" c 1 3; }; done
put "$D/etc/gres.conf" 644 "Name=gpu File=$D/dev/nvidia[0-1]"
put "$D/etc/slurmdbd.conf" 600 "$(slurmdbd_conf)"
put "$D/etc/ports" 644 "ctld=$CTLD_PORT dbd=$DBD_PORT rest=$REST_PORT db=$DB_PORT slurmd=$SLURMD_BASE_PORT"
# Let the Slurm CLI find the config without SLURM_CONF, unless a real config lives there.
mkdir -p /etc/slurm
if [ -L /etc/slurm/slurm.conf ] || [ ! -e /etc/slurm/slurm.conf ]; then ln -sfn "$SLURM_CONF" /etc/slurm/slurm.conf; fi

# ---------------------------------------------------------------------------- helpers
alive() { # pidfile comm: that pid runs and really is that program
  local p; p=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]
}
wait_for() { # seconds what command...
  local end=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt $end ] || { log "timed out waiting for $what"; return 1; }
    sleep 0.2
  done
}
token() { scontrol token lifespan="$1" | sed -n 's/^SLURM_JWT=//p'; }
rest_ping() { # token
  [ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H 'X-SLURM-USER-NAME: root' -H "X-SLURM-USER-TOKEN: $1" \
    "$REST_URL/slurm/v0.0.38/ping")" = 200 ]
}
nodes_up() { # every real node answers (idle, or busy with kept jobs)
  local states; states=$(sinfo -h -N -n "node[1-$NODES]" -o '%N %t' | sort -u) || return 1
  [ "$(printf '%s\n' "$states" | wc -l)" = $NODES ] && ! printf '%s\n' "$states" | grep -qE '\*|unk|down|fail|boot|inval'
}
healthy() {
  local f tok
  for f in munged mariadbd slurmdbd slurmctld slurmrestd slurmrestd-local; do
    alive "$D/run/$f.pid" "${f%-local}" || return 1
  done
  for i in $(seq 1 $NODES); do alive "$D/run/slurmd-node$i.pid" slurmd || return 1; done
  tok=$(timeout 10 scontrol token lifespan=60 2>/dev/null | sed -n 's/^SLURM_JWT=//p')
  [ -n "$tok" ] && rest_ping "$tok" && nodes_up
}

# ------------------------------------------------------------------------------ start
if [ "$FORCE_RESTART" != 1 ] && [ $changed = 0 ] && healthy; then
  log "already running and healthy"
else
  SFLEET_SLURM_DIR=$D "$HERE/stop.sh" --quiet
  for p in $CTLD_PORT $DBD_PORT $REST_PORT $DB_PORT $(seq $((SLURMD_BASE_PORT + 1)) $((SLURMD_BASE_PORT + NODES))); do
    # bash's /dev/tcp: connecting succeeds only if something listens (no iproute2 needed)
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "TCP port $p is taken by another process; set SFLEET_SLURM_*_PORT"; fi
  done
  if [ "$KEEP_STATE" != 1 ]; then rm -rf "${D:?}/ctld"/* "${D:?}/spool"/* "${D:?}/log"/*; fi
  for i in $(seq 1 $NODES); do mkdir -p "$D/spool/node$i"; done
  cd /
  # The daemons must not inherit our caller's descriptors: run as `flock LOCK start.sh`, a
  # mariadbd or slurmrestd holding the lock's descriptor would keep the lock held forever.
  for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true; done

  rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
  munged --socket="$MUNGE_SOCK" --key-file="$D/munge/munge.key" --pid-file="$D/run/munged.pid" \
    --log-file="$D/log/munged.log" --seed-file="$D/munge/munged.seed" </dev/null >>"$D/log/munged.out" 2>&1 \
    || die "munged failed (see $D/log/munged.log)"
  wait_for 10 munged sh -c "munge -n -S '$MUNGE_SOCK' | unmunge -S '$MUNGE_SOCK'" || die "munged does not answer"
  log "munged up"

  # Accounting: a private mariadbd on 127.0.0.1:$DB_PORT, then slurmdbd.
  [ -d "$D/mysql/data/mysql" ] || mariadb-install-db --no-defaults --user=root --datadir="$D/mysql/data" \
    --auth-root-authentication-method=socket --skip-test-db >"$D/log/mariadb-install.log" 2>&1 \
    || die "mariadb-install-db failed (see $D/log/mariadb-install.log)"
  setsid mariadbd --no-defaults --user=root --datadir="$D/mysql/data" --socket="$DB_SOCK" \
    --pid-file="$D/run/mariadbd.pid" --bind-address=127.0.0.1 --port="$DB_PORT" --skip-name-resolve \
    --log-error="$D/log/mariadb.log" --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 \
    </dev/null >>"$D/log/mariadb.out" 2>&1 &
  wait_for 30 mariadbd mariadb-admin --no-defaults -S "$DB_SOCK" -u root ping || die "mariadbd (see $D/log/mariadb.log)"
  reset=""; [ "$KEEP_STATE" = 1 ] || reset="DROP DATABASE IF EXISTS slurm_acct_db;"
  mariadb --no-defaults -S "$DB_SOCK" -u root -e "$reset
    CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'sfleet';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;" || die "mariadb setup failed"
  slurmdbd </dev/null >>"$D/log/slurmdbd.out" 2>&1 || die "slurmdbd failed (see $D/log/slurmdbd.log)"
  wait_for 30 slurmdbd sacctmgr -n show cluster || die "slurmdbd does not answer (see $D/log/slurmdbd.log)"
  # Provision before slurmctld starts (it loads associations when it registers). One call at a
  # time: concurrent adds race inside slurmdbd. The slurmrestd user is an operator, so the
  # unix-socket slurmrestd (which acts as that user) may hold, cancel and drain.
  if ! sacctmgr -n -P show cluster format=cluster | grep -qx "$CLUSTER"; then
    {
      sacctmgr -i add qos high Priority=100 Description="high priority"
      sacctmgr -i add qos low Priority=0 MaxWall=00:10:00 Description="low priority, 10 min max"
      sacctmgr -i add cluster "$CLUSTER" QOS=normal,high,low
      sacctmgr -i add account research Description="research group" Organization=lab
      sacctmgr -i add account ops Description="operations" Organization=lab
      sacctmgr -i add user root,alice Account=research
      sacctmgr -i add user $REST_USER,bob Account=ops
      sacctmgr -i modify user $REST_USER set AdminLevel=Operator
    } >"$D/log/provision.log" 2>&1 || die "sacctmgr provisioning failed (see $D/log/provision.log)"
  fi
  log "accounting up (slurmdbd :$DBD_PORT, mariadb :$DB_PORT)"

  slurmctld -f "$SLURM_CONF" </dev/null >>"$D/log/slurmctld.out" 2>&1 || die "slurmctld failed (see $D/log/slurmctld.log)"
  wait_for 30 slurmctld sh -c "scontrol ping | grep -q 'is UP'" || die "slurmctld does not answer"
  for i in $(seq 1 $NODES); do
    slurmd -N "node$i" -f "$SLURM_CONF" </dev/null >>"$D/log/slurmd-node$i.out" 2>&1 || die "slurmd node$i failed"
  done
  log "slurmctld :$CTLD_PORT and $NODES slurmd up"

  # slurmrestd binds as root, then switches to $REST_USER (-u). SLURM_JWT=daemon makes the JWT
  # instance talk to slurmctld with each client's token. MALLOC_ARENA_MAX keeps its memory from
  # growing by ~300 MB per big /jobs answer (glibc arenas, see MEASUREMENTS.md).
  plugins=openapi/v0.0.36,openapi/v0.0.37,openapi/v0.0.38,openapi/dbv0.0.36,openapi/dbv0.0.37,openapi/dbv0.0.38
  SLURM_JWT=daemon MALLOC_ARENA_MAX=2 setsid slurmrestd -f "$SLURM_CONF" -a rest_auth/jwt -s $plugins \
    -u $REST_USER "127.0.0.1:$REST_PORT" </dev/null >>"$D/log/slurmrestd.log" 2>&1 &
  echo $! >"$D/run/slurmrestd.pid"
  rm -f "$REST_SOCK"
  MALLOC_ARENA_MAX=2 setsid slurmrestd -f "$SLURM_CONF" -a rest_auth/local -s $plugins \
    -u $REST_USER "unix:$REST_SOCK" </dev/null >>"$D/log/slurmrestd-local.log" 2>&1 &
  echo $! >"$D/run/slurmrestd-local.pid"

  tok=$(token 300)
  wait_for 30 "slurmrestd" rest_ping "$tok" || die "slurmrestd does not answer (see $D/log/slurmrestd.log)"
  wait_for 20 "slurmrestd socket" curl -sf -m 5 --unix-socket "$REST_SOCK" http://localhost/slurm/v0.0.38/ping \
    || die "unix-socket slurmrestd does not answer (see $D/log/slurmrestd-local.log)"
  wait_for 60 "nodes" nodes_up || die "nodes not up: $(sinfo -N 2>&1)"
  log "slurmrestd $REST_URL (jwt) and unix:$REST_SOCK (local) up; node[1-$NODES] ready"
fi

# ----------------------------------------------------------------------------- output
jwt=$(token "$JWT_LIFESPAN"); [ -n "$jwt" ] || die "scontrol token failed"
cat >"$D/env.tmp" <<EOF
export SFLEET_SLURM_DIR=$D
export SLURM_CONF=$SLURM_CONF
export SLURM_CLUSTER_NAME=$CLUSTER
export SLURMRESTD_URL=$REST_URL
export SLURMRESTD_USER=root
export SLURM_JWT=$jwt
export SLURMRESTD_API_VERSION=v0.0.38
export SLURMRESTD_SOCKET=$REST_SOCK
export SLURM_NODE_NAMES=node[1-$((NODES + 1))]
EOF
chmod 600 "$D/env.tmp"; mv "$D/env.tmp" "$D/env"
cat "$D/env"
log "ready: . $D/env  (SLURM_JWT in the environment breaks srun: use env -u SLURM_JWT for CLI calls)"
