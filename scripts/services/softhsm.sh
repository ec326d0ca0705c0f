#!/usr/bin/env bash
# Installs SoftHSM 2 and the OpenSSL PKCS#11 engine (libp11) for the CLI's PKCS#11 test
# (test/cli-pkcs11.test.ts) when missing; prints the SoftHSM module and the engine's paths.
set -euo pipefail
log() { printf '[softhsm] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../lib/apt-install.sh"
MODULE=/usr/lib/softhsm/libsofthsm2.so
ENGINE=$(ls /usr/lib/*/engines-3/pkcs11.so 2>/dev/null | head -1 || true)
if [ ! -e "$MODULE" ] || [ -z "$ENGINE" ] || ! command -v softhsm2-util >/dev/null; then
  [ "$(id -u)" = 0 ] || die "softhsm2 or libengine-pkcs11-openssl is missing and installing them needs root"
  apt_install_missing softhsm2 libengine-pkcs11-openssl
  ENGINE=$(ls /usr/lib/*/engines-3/pkcs11.so | head -1)
fi
printf '%s\n%s\n' "$MODULE" "$ENGINE"
