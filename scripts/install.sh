#!/usr/bin/env bash
# Installs (or removes) the slurmfleet agent on a Slurm head node, or a hub on its VM: the single
# binary, checked against the release's SHA256SUMS; its systemd unit; its configuration,
# environment file and certificates; its system user. Run it again with the same files and it
# changes nothing. install-agent.sh and install-hub.sh run it with their --role.
#
#   install.sh --role agent|hub --binary sfleet-linux-x64 --sums SHA256SUMS --config FILE.yaml \
#              --pki DIR [--env FILE.env] [--unit sfleet-ROLE.service] [--no-start]
#   install.sh --role agent|hub --uninstall [--purge]
#   (both take --root DIR: install into a mounted image or a test tree instead of /)
#
# --pki DIR: its files are copied to /etc/sfleet/pki/ (keys 0640 root:sfleet-ROLE); the
# config's tls paths name them there. --env: the 0600 file the unit reads (the agent's
# SLURM_JWT=..., the hub's Redis/etcd/OIDC/SMTP secrets).
# The config is checked with the new binary (`sfleet config validate`) before anything is
# touched; a binary whose checksum is not in SHA256SUMS is refused the same way.
# --uninstall stops and removes the service, binary and unit, keeping configuration, state
# and user; --purge removes those too.
set -euo pipefail

ROOT=/
ROLE=agent BINARY= SUMS= CONFIG= ENV_FILE= PKI= UNIT= START=1 UNINSTALL=0 PURGE=0
HERE=$(cd "$(dirname "$0")" && pwd)
while [ $# -gt 0 ]; do
  case "$1" in
    --role) ROLE=$2; shift 2 ;;
    --binary) BINARY=$2; shift 2 ;;
    --sums) SUMS=$2; shift 2 ;;
    --config) CONFIG=$2; shift 2 ;;
    --env) ENV_FILE=$2; shift 2 ;;
    --pki) PKI=$2; shift 2 ;;
    --unit) UNIT=$2; shift 2 ;;
    --root) ROOT=$2; shift 2 ;;
    --no-start) START=0; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-$ROLE: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "install-$ROLE: $*" >&2; exit 1; }
case "$ROLE" in agent|hub) ;; *) echo "install: --role is agent or hub, not $ROLE" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || die "run as root (it creates a system user and writes /etc and /usr/local)"
ROOT=${ROOT%/}
R() { printf '%s%s' "$ROOT" "$1"; }

SERVICE=sfleet-$ROLE
USER_NAME=sfleet-$ROLE
BIN=/usr/local/bin/sfleet
UNIT_PATH=/etc/systemd/system/$SERVICE.service
DROPIN=/etc/systemd/system/$SERVICE.service.d/no-slurm-group.conf
ETC=/etc/sfleet
CHANGED=0

# systemctl only where systemd runs this root.
systemd_here() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }
user_args() { [ -n "$ROOT" ] && printf -- '--root\n%s\n' "$ROOT"; return 0; }
has_group() { grep -q "^$1:" "$(R /etc/group)"; }
has_user() { grep -q "^$1:" "$(R /etc/passwd)"; }

# Numeric ids from the target root's own databases (under --root the host's may differ).
uid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$(R /etc/passwd)"; }
gid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$(R /etc/group)"; }

# Puts SRC at DEST with MODE and OWNER (user:group) unless it is there already, byte for byte
# and alike.
place() {
  local src=$1 dest=$2 mode=$3 owner=$4 target ids
  target=$(R "$dest")
  ids="$(uid_of "${owner%%:*}"):$(gid_of "${owner##*:}")"
  if [ -f "$target" ] && cmp -s "$src" "$target" && [ "$(stat -c '%a %u:%g' "$target")" = "$mode $ids" ]; then
    echo "unchanged $dest"
    return
  fi
  install -D -m "$mode" -o "${ids%%:*}" -g "${ids##*:}" "$src" "$target"
  echo "installed $dest"
  CHANGED=$((CHANGED + 1))
}

remove() {
  local path
  for path in "$@"; do
    if [ -e "$(R "$path")" ]; then rm -rf "$(R "$path")"; echo "removed $path"; CHANGED=$((CHANGED + 1)); fi
  done
}

if [ "$UNINSTALL" = 1 ]; then
  if systemd_here && systemctl list-unit-files "$SERVICE.service" >/dev/null 2>&1; then
    systemctl disable --now "$SERVICE.service" || true
  fi
  remove "$BIN" "$UNIT_PATH" "$(dirname "$DROPIN")"
  if [ "$PURGE" = 1 ]; then
    # /etc/sfleet/pki is shared when a hub and an agent are on one machine: it goes with the last of them.
    remove "$ETC/$ROLE.yaml" "$ETC/$ROLE.env" "/var/lib/$SERVICE" "/var/log/$SERVICE"
    other=$([ "$ROLE" = agent ] && echo hub || echo agent)
    [ -e "$(R "$ETC/$other.yaml")" ] || remove "$ETC/pki"
    if has_user "$USER_NAME"; then
      mapfile -t ua < <(user_args)
      userdel "${ua[@]}" "$USER_NAME"
      echo "removed user $USER_NAME"
      CHANGED=$((CHANGED + 1))
    fi
  fi
  systemd_here && systemctl daemon-reload
  echo "changed $CHANGED"
  exit 0
fi

[ -n "$BINARY" ] && [ -n "$SUMS" ] && [ -n "$CONFIG" ] && [ -n "$PKI" ] || die "--binary, --sums, --config and --pki are required (see --help)"
for f in "$BINARY" "$SUMS" "$CONFIG"; do [ -f "$f" ] || die "$f: no such file"; done
[ -d "$PKI" ] || die "$PKI: no such directory"
[ -z "$ENV_FILE" ] || [ -f "$ENV_FILE" ] || die "$ENV_FILE: no such file"
# A bare name (--binary sfleet-linux-x64, as the guide writes it) is a file here, not a command on PATH.
case "$BINARY" in */*) ;; *) BINARY=./$BINARY ;; esac
if [ -z "$UNIT" ]; then
  for candidate in "$HERE/../deploy/systemd/$SERVICE.service" "$HERE/$SERVICE.service"; do
    [ -f "$candidate" ] && UNIT=$candidate && break
  done
  [ -n "$UNIT" ] || die "no $SERVICE.service beside the script: pass --unit"
fi

# 1. The binary is the release's: its SHA-256 is the one SHA256SUMS gives for its name.
name=$(basename "$BINARY")
want=$(awk -v n="$name" '$2 == n || $2 == "*" n { print $1 }' "$SUMS")
[ -n "$want" ] || die "$name is not listed in $SUMS: refusing a binary the release does not name"
have=$(sha256sum "$BINARY" | cut -d' ' -f1)
[ "$have" = "$want" ] || die "$name: SHA-256 $have does not match $SUMS ($want): refusing it (a damaged or foreign download)"
echo "checksum ok $name"

# 2. The configuration is one this binary accepts, before anything is written.
[ -x "$BINARY" ] || chmod u+x "$BINARY" || die "$BINARY is not executable"
# The embedded Node.js links libatomic.so.1, which minimal Debian and RHEL installs lack.
# (ldd exits 1 on a file that is not a dynamic executable: that is not a missing library.)
missing=$(ldd "$BINARY" 2>/dev/null | awk '/not found/ { print $1 }' | tr '\n' ' ') || true
[ -z "$missing" ] || die "$name needs ${missing% } on this machine: install libatomic1 (Debian, Ubuntu) or libatomic (RHEL, Rocky); nothing installed"
"$BINARY" config validate --no-require-env --role "$ROLE" "$CONFIG" >/dev/null || die "$CONFIG is not a valid $ROLE configuration (see above): nothing installed"

# 3. The system user (the agent's joins the slurm group through its unit, below).
if ! has_user "$USER_NAME"; then
  mapfile -t ua < <(user_args)
  useradd "${ua[@]}" --system --user-group --home-dir "/var/lib/$SERVICE" --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
  echo "created user $USER_NAME"
  CHANGED=$((CHANGED + 1))
fi

# 4. Files.
place "$BINARY" "$BIN" 755 root:root
place "$UNIT" "$UNIT_PATH" 644 root:root
# The agent's unit asks for the slurm group (the cli source runs squeue, sinfo and scontrol,
# which read slurm.conf and talk to munge as a member of it).
if [ "$ROLE" = hub ] || has_group slurm; then
  remove "$(dirname "$DROPIN")"
else
  # The unit asks for the slurm group (SupplementaryGroups=slurm); without it systemd would
  # refuse to start the agent. The rest source needs no group.
  tmp=$(mktemp)
  printf '# No slurm group on this machine (install.sh): the rest source needs none.\n[Service]\nSupplementaryGroups=\n' >"$tmp"
  place "$tmp" "$DROPIN" 644 root:root
  rm -f "$tmp"
fi
place "$CONFIG" "$ETC/$ROLE.yaml" 640 "root:$USER_NAME"
[ -z "$ENV_FILE" ] || place "$ENV_FILE" "$ETC/$ROLE.env" 600 root:root
for f in "$PKI"/*; do
  [ -f "$f" ] || continue
  case "$f" in
    *key*) place "$f" "$ETC/pki/$(basename "$f")" 640 "root:$USER_NAME" ;;
    *) place "$f" "$ETC/pki/$(basename "$f")" 644 root:root ;;
  esac
done

# 5. The service.
if [ "$START" = 1 ] && systemd_here; then
  systemctl daemon-reload
  if [ "$CHANGED" -gt 0 ]; then systemctl enable "$SERVICE.service" && systemctl restart "$SERVICE.service"; fi
  systemctl is-active --quiet "$SERVICE.service" || die "$SERVICE did not start: journalctl -u $SERVICE"
elif [ "$START" = 1 ]; then
  echo "not started: systemd does not run ${ROOT:-this machine} (run: systemctl daemon-reload && systemctl enable --now $SERVICE)"
fi
echo "changed $CHANGED"
