#!/usr/bin/env bash
# Installs (or removes) the slurmfleet agent: install.sh --role agent, beside this file (--help there).
exec bash "$(dirname "$0")/install.sh" --role agent "$@"
