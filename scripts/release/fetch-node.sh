#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given version and architecture, taken from the npm
# registry's node-linux-<arch> package (the registry is reachable where nodejs.org is not).
#
#   scripts/release/fetch-node.sh VERSION x64|arm64
#
# The registry has gaps (a version published for one architecture and not the other):
# scripts/release/node-version pins one exact version that exists for both.
set -euo pipefail
VERSION=$1 ARCH=$2
case "$ARCH" in x64|arm64) ;; *) echo "architecture must be x64 or arm64, not $ARCH" >&2; exit 2;; esac
DIR=$(bash "$(dirname "$0")/fetch-package.sh" "node-linux-$ARCH" "$VERSION")
echo "$DIR/bin/node"
