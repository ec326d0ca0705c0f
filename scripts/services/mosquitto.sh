#!/usr/bin/env bash
# Starts a private Mosquitto 2 broker (Debian `mosquitto`) for the alerting tests, on loopback,
# with password auth (no anonymous clients), state under $SFLEET_MQTT_DIR:
#
#   eval "$(scripts/services/mosquitto.sh)"   # exports SFLEET_MQTT_URL, SFLEET_MQTT_USER, SFLEET_MQTT_PASSWORD
#
# Idempotent: a broker already running from this directory is left alone. Stop it with
# `kill $(cat $SFLEET_MQTT_DIR/mosquitto.pid)`. stdout is only `export` lines; progress on stderr.
#   SFLEET_MQTT_DIR    default /tmp/sfleet-mqtt/default
#   SFLEET_MQTT_PORT   default 21883
set -euo pipefail
D=${SFLEET_MQTT_DIR:-/tmp/sfleet-mqtt/default}
PORT=${SFLEET_MQTT_PORT:-21883}
log() { printf '[mosquitto] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../lib/apt-install.sh"
[ "$(id -u)" = 0 ] || die "must run as root (installs Debian packages when missing)"
case "$D" in /tmp/*) ;; *) die "SFLEET_MQTT_DIR must be under /tmp";; esac
apt_install_missing mosquitto
mkdir -p "$D"
USER_NAME=sfleet
PASS_FILE=$D/password
[ -f "$PASS_FILE" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$PASS_FILE"
PASSWORD=$(cat "$PASS_FILE")
if [ ! -f "$D/passwd" ]; then
  mosquitto_passwd -b -c "$D/passwd" "$USER_NAME" "$PASSWORD" >&2 2>/dev/null || die "mosquitto_passwd failed"
fi
chmod 0700 "$D"; chmod 0600 "$D/passwd" 2>/dev/null || true
chown -R mosquitto: "$D" 2>/dev/null || true
cat >"$D/mosquitto.conf" <<CONF
pid_file $D/mosquitto.pid
persistence true
persistence_location $D/
log_dest file $D/mosquitto.log
listener $PORT 127.0.0.1
allow_anonymous false
password_file $D/passwd
CONF
if [ -f "$D/mosquitto.pid" ] && kill -0 "$(cat "$D/mosquitto.pid")" 2>/dev/null; then
  log "already running on $PORT"
else
  mosquitto -d -c "$D/mosquitto.conf" || die "mosquitto did not start (see $D/mosquitto.log)"
  for _ in $(seq 1 50); do
    (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break
    sleep 0.1
  done
  log "listening on 127.0.0.1:$PORT"
fi
{
  echo "export SFLEET_MQTT_URL=mqtt://127.0.0.1:$PORT"
  echo "export SFLEET_MQTT_USER=$USER_NAME"
  echo "export SFLEET_MQTT_PASSWORD=$PASSWORD"
} | tee "$D/env"
