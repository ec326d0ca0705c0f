#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given version and architecture, taken from the npm
# registry's node-linux-<arch> package (the registry is reachable where nodejs.org is not) and
# kept in a cache. npm checks the package against the registry's sha512 integrity on the way in.
#
#   scripts/release/fetch-node.sh VERSION x64|arm64
#
# The registry has gaps (a version published for one architecture and not the other):
# scripts/release/node-version pins one exact version that exists for both.
set -euo pipefail
VERSION=$1 ARCH=$2
case "$ARCH" in x64|arm64) ;; *) echo "architecture must be x64 or arm64, not $ARCH" >&2; exit 2;; esac
CACHE=${SFLEET_RELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sfleet-release}/node-$VERSION-$ARCH
if [ ! -x "$CACHE/bin/node" ]; then
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  (cd "$TMP" && npm pack "node-linux-$ARCH@$VERSION" --silent >/dev/null) \
    || { echo "node-linux-$ARCH@$VERSION is not in the npm registry (or it is unreachable)" >&2; exit 1; }
  mkdir -p "$TMP/x"
  tar -xzf "$TMP/node-linux-$ARCH-$VERSION.tgz" -C "$TMP/x"
  mkdir -p "$(dirname "$CACHE")"
  rm -rf "$CACHE"
  mv "$TMP/x/package" "$CACHE"
fi
echo "$CACHE/bin/node"
