#!/usr/bin/env bash
# Starts a private OpenLDAP server (Debian slapd) for the LDAP login tests and local development:
#
#   eval "$(scripts/ldap/start.sh)"
#
# Runs as root (installs slapd and ldap-utils when missing, with service starts forbidden and
# debconf told not to build a default directory). Everything lives under $SFLEET_LDAP_DIR: a
# slapd.conf written here (schemas core, cosine, inetorgperson, nis, a small AD-like schema with
# sAMAccountName, the memberof overlay so groups show up as memberOf on users), an MDB database
# for dc=sfleet,dc=test, a pid file. Listens on ldap://127.0.0.1:$SFLEET_LDAP_PORT only.
# Idempotent: a running slapd of this directory is left alone. The entries themselves are the
# caller's (test/harness/ldap.ts loads them with ldapadd). stdout is only `export` lines.
#
#   SFLEET_LDAP_DIR       default /tmp/sfleet-ldap/default
#   SFLEET_LDAP_PORT      default 23389 (or the port of the first start of this directory)
#   SFLEET_LDAP_ROOTPW    the rootdn's password, default "admin-secret"
#   SFLEET_LDAP_TLS_CERT, SFLEET_LDAP_TLS_KEY  PEM server certificate and key: StartTLS on the
#                         ldap:// port and ldaps:// on SFLEET_LDAP_TLS_PORT (default 23636)
set -euo pipefail

D=${SFLEET_LDAP_DIR:-/tmp/sfleet-ldap/default}
log() { printf '[ldap] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../lib/apt-install.sh"
[ "$(id -u)" = 0 ] || die "must run as root (installs Debian packages when missing)"
case "$D" in /tmp/?*) ;; *) die "SFLEET_LDAP_DIR must be under /tmp (got $D)";; esac
mkdir -p "$D"
if [ -f "$D/port" ]; then PORT=${SFLEET_LDAP_PORT:-$(cat "$D/port")}; else PORT=${SFLEET_LDAP_PORT:-23389}; fi
echo "$PORT" >"$D/port"
if [ -f "$D/tls-port" ]; then TLS_PORT=${SFLEET_LDAP_TLS_PORT:-$(cat "$D/tls-port")}; else TLS_PORT=${SFLEET_LDAP_TLS_PORT:-23636}; fi
TLS_CERT=${SFLEET_LDAP_TLS_CERT:-}
TLS_KEY=${SFLEET_LDAP_TLS_KEY:-}
if [ -n "$TLS_CERT" ] || [ -n "$TLS_KEY" ]; then
  [ -r "$TLS_CERT" ] && [ -r "$TLS_KEY" ] || die "SFLEET_LDAP_TLS_CERT and SFLEET_LDAP_TLS_KEY must both name readable PEM files"
  echo "$TLS_PORT" >"$D/tls-port"
fi
ROOTPW=${SFLEET_LDAP_ROOTPW:-admin-secret}
SUFFIX="dc=sfleet,dc=test"

# No default directory: this script writes its own configuration.
apt_install_missing --preseed 'slapd slapd/no_configuration boolean true' slapd ldap-utils
SLAPD=/usr/sbin/slapd
[ -x "$SLAPD" ] || die "slapd not found after install"

running() {
  [ -f "$D/slapd.pid" ] || return 1
  local pid; pid=$(cat "$D/slapd.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$D/"
}

if ! running; then
  mkdir -p "$D/db"
  # Active Directory's user naming attribute (its real OID), on an auxiliary class of our own arc.
  cat >"$D/ad-lite.schema" <<'SCHEMA'
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.1.2.1 NAME 'sfleetAdUser' SUP top AUXILIARY MAY ( sAMAccountName ) )
SCHEMA
  HASH=$(/usr/sbin/slappasswd -s "$ROOTPW")
  TLS_CONF=""
  if [ -n "$TLS_CERT" ]; then
    cp "$TLS_CERT" "$D/tls-cert.pem" && cp "$TLS_KEY" "$D/tls-key.pem" && chmod 600 "$D/tls-key.pem"
    TLS_CONF="TLSCertificateFile $D/tls-cert.pem
TLSCertificateKeyFile $D/tls-key.pem"
  fi
  cat >"$D/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include $D/ad-lite.schema
pidfile $D/slapd.pid
argsfile $D/slapd.args
$TLS_CONF
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
database mdb
maxsize 104857600
suffix "$SUFFIX"
rootdn "cn=admin,$SUFFIX"
rootpw $HASH
directory $D/db
index objectClass eq
index uid,cn,sAMAccountName eq
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint true
# Users bind as themselves and may read their own entry; the service account reads everything
# (group lookup); nobody else reads anything.
access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by dn.exact="cn=svc-sfleet,ou=services,$SUFFIX" read by self read by anonymous auth by * none
# cn=Monitor (slapd's own counters), read by the rootdn only: tests count the binds the hub makes.
database monitor
access to dn.subtree="cn=Monitor" by dn.exact="cn=admin,$SUFFIX" read by * none
CONF
  $SLAPD -Tt -u -f "$D/slapd.conf" >/dev/null 2>"$D/check.log" || die "slapd.conf invalid: $(tail -n 5 "$D/check.log")"
  URLS="ldap://127.0.0.1:$PORT/"
  if [ -n "$TLS_CONF" ]; then URLS="$URLS ldaps://127.0.0.1:$TLS_PORT/"; fi
  $SLAPD -f "$D/slapd.conf" -h "$URLS" 2>"$D/slapd.log" || die "slapd did not start: $(tail -n 5 "$D/slapd.log")"
  log "started slapd ($URLS)"
fi
ok=0
for _ in $(seq 1 100); do
  if ldapsearch -x -H "ldap://127.0.0.1:$PORT" -D "cn=admin,$SUFFIX" -w "$ROOTPW" -b "" -s base >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || die "slapd does not answer on port $PORT: $(tail -n 5 "$D/slapd.log" 2>/dev/null)"
{
  echo "export SFLEET_LDAP_DIR=$D"
  echo "export SFLEET_LDAP_URL=ldap://127.0.0.1:$PORT"
  echo "export SFLEET_LDAP_SUFFIX=$SUFFIX"
  echo "export SFLEET_LDAP_ROOTDN=cn=admin,$SUFFIX"
  if [ -f "$D/tls-cert.pem" ]; then echo "export SFLEET_LDAP_TLS_URL=ldaps://127.0.0.1:$TLS_PORT"; fi
} | tee "$D/env"
