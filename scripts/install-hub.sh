#!/usr/bin/env bash
# Installs (or removes) the slurmfleet hub: install.sh --role hub, beside this file (--help there).
exec bash "$(dirname "$0")/install.sh" --role hub "$@"
