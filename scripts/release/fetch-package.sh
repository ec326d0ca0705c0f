#!/usr/bin/env bash
# Prints the directory of an npm package of an exact version, unpacked from the npm registry
# into a cache: what the release build embeds for another architecture than the one whose
# packages npm installed here (Node itself, DuckDB's native bindings). npm checks the tarball
# against the registry's sha512 integrity on the way in.
#
#   scripts/release/fetch-package.sh NAME VERSION
set -euo pipefail
NAME=$1 VERSION=$2
CACHE=${SFLEET_RELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sfleet-release}/$(printf '%s' "$NAME" | tr '/@' '__')-$VERSION
if [ ! -f "$CACHE/package.json" ]; then
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  (cd "$TMP" && npm pack "$NAME@$VERSION" --silent >/dev/null) \
    || { echo "$NAME@$VERSION is not in the npm registry (or it is unreachable)" >&2; exit 1; }
  mkdir -p "$TMP/x"
  tar -xzf "$TMP"/*.tgz -C "$TMP/x"
  mkdir -p "$(dirname "$CACHE")"
  rm -rf "$CACHE"
  mv "$TMP/x/package" "$CACHE"
fi
echo "$CACHE"
