# Installs the Debian packages a start script needs when they are missing. Sourced (not run) by
# scripts/slurm/start.sh, scripts/ldap/start.sh and scripts/services/start.sh, which run as root
# and define log and die (messages to stderr) before sourcing this file.
#
#   apt_install_missing [--preseed 'DEBCONF LINE']... PACKAGE...
#
# Packages already installed cost no apt call at all. Otherwise: apt-get update, then a
# noninteractive install of the missing ones (no recommends, keep existing config files), with
# service starts forbidden meanwhile by a temporary /usr/sbin/policy-rc.d: the packages' own
# services would start with Debian's default config (ports, data) instead of ours. The guard is
# removed on every exit path, and an existing policy-rc.d is never touched. --preseed lines go
# to debconf-set-selections first (e.g. slapd's "no default directory").
# apt's output goes to stderr: the start scripts keep stdout for `export` lines.

_apt_made_policy=0
_apt_drop_policy() {
  if [ "$_apt_made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; _apt_made_policy=0; fi
}

apt_install_missing() {
  local preseed=() missing=() p
  while [ $# -gt 0 ]; do
    case "$1" in
      --preseed) preseed+=("$2"); shift 2;;
      *) break;;
    esac
  done
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  log "installing ${missing[*]}"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && _apt_made_policy=1
  fi
  trap _apt_drop_policy EXIT
  for p in "${preseed[@]}"; do
    echo "$p" | debconf-set-selections || die "debconf-set-selections failed: $p"
  done
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >&2 || die "apt-get install failed"
  _apt_drop_policy
  trap - EXIT
}
