#!/usr/bin/env bash
# Installs Ansible (Debian's ansible-core) for the role test (test/ansible.test.ts) when missing;
# prints the path of ansible-playbook. Progress on stderr.
set -euo pipefail
log() { printf '[ansible] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../lib/apt-install.sh"
if ! command -v ansible-playbook >/dev/null; then
  [ "$(id -u)" = 0 ] || die "ansible-playbook is missing and installing it needs root"
  apt_install_missing ansible-core
fi
command -v ansible-playbook
