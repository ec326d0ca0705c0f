#!/usr/bin/env bash
# Starts a private MIT Kerberos KDC (Debian krb5-kdc) for the Kerberos login tests and local
# development:
#
#   eval "$(scripts/kerberos/start.sh)"
#
# Runs as root (installs krb5-kdc, krb5-admin-server and krb5-user when missing, with service
# starts forbidden). Everything lives under $SFLEET_KDC_DIR: krb5.conf and kdc.conf written here,
# the database (realm SFLEET.TEST, aes256/aes128-cts-hmac-sha1-96 keys), a pid file. Listens on
# 127.0.0.1:$SFLEET_KDC_PORT (UDP and TCP). Idempotent: a running KDC of this directory is left
# alone. Principals are the caller's (kadmin.local with KRB5_CONFIG and KRB5_KDC_PROFILE from the
# printed exports). stdout is only `export` lines.
#
#   SFLEET_KDC_DIR    default /tmp/sfleet-kdc/default
#   SFLEET_KDC_PORT   default 23088 (or the port of the first start of this directory)
set -euo pipefail

D=${SFLEET_KDC_DIR:-/tmp/sfleet-kdc/default}
REALM=SFLEET.TEST
log() { printf '[kdc] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../lib/apt-install.sh"
[ "$(id -u)" = 0 ] || die "must run as root (installs Debian packages when missing)"
case "$D" in /tmp/?*) ;; *) die "SFLEET_KDC_DIR must be under /tmp (got $D)";; esac
mkdir -p "$D"
if [ -f "$D/port" ]; then PORT=${SFLEET_KDC_PORT:-$(cat "$D/port")}; else PORT=${SFLEET_KDC_PORT:-23088}; fi
echo "$PORT" >"$D/port"

apt_install_missing krb5-kdc krb5-admin-server krb5-user
for b in /usr/sbin/krb5kdc /usr/sbin/kdb5_util /usr/sbin/kadmin.local /usr/bin/kinit; do [ -x "$b" ] || die "$b not found after install"; done

cat >"$D/krb5.conf" <<CONF
[libdefaults]
  default_realm = $REALM
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
  default_ccache_name = FILE:$D/ccache-default
[realms]
  $REALM = {
    kdc = 127.0.0.1:$PORT
  }
[domain_realm]
  localhost = $REALM
  127.0.0.1 = $REALM
CONF
cat >"$D/kdc.conf" <<CONF
[kdcdefaults]
  kdc_ports = $PORT
  kdc_tcp_ports = $PORT
[realms]
  $REALM = {
    database_name = $D/principal
    key_stash_file = $D/stash
    acl_file = $D/kadm5.acl
    master_key_type = aes256-cts-hmac-sha1-96
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    max_life = 10h
  }
[logging]
  kdc = FILE:$D/kdc.log
CONF
: >"$D/kadm5.acl"
export KRB5_CONFIG=$D/krb5.conf KRB5_KDC_PROFILE=$D/kdc.conf

running() {
  [ -f "$D/kdc.pid" ] || return 1
  local pid; pid=$(cat "$D/kdc.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

if ! running; then
  if [ ! -f "$D/principal" ]; then
    # A random master password: nothing outside this directory ever needs it (the stash holds it).
    kdb5_util create -s -r "$REALM" -P "$(head -c 24 /dev/urandom | base64)" >"$D/kdb5_util.log" 2>&1 || die "kdb5_util create failed: $(cat "$D/kdb5_util.log")"
  fi
  /usr/sbin/krb5kdc -P "$D/kdc.pid" -r "$REALM" 2>>"$D/kdc.log" || die "krb5kdc failed: $(tail -5 "$D/kdc.log")"
  for _ in $(seq 1 50); do running && break; sleep 0.1; done
  running || die "krb5kdc did not start: $(tail -5 "$D/kdc.log")"
  log "KDC for $REALM on 127.0.0.1:$PORT"
fi
printf 'export KRB5_CONFIG=%s\nexport KRB5_KDC_PROFILE=%s\nexport SFLEET_KDC_REALM=%s\nexport SFLEET_KDC_PORT=%s\n' "$D/krb5.conf" "$D/kdc.conf" "$REALM" "$PORT"
