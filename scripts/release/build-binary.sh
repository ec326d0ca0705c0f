#!/usr/bin/env bash
# Builds the single `sfleet` binary with Node's own single-executable-application support:
# bundle the CLI into one CommonJS file (esbuild), turn it into a SEA blob, and inject it into
# a copy of a Node binary (postject). The product ships with Node 24 LTS: pass its binary with
# --node; by default the Node running this script is embedded.
#
#   scripts/release/build-binary.sh [--node /path/to/node] [--out dist/release/sfleet]
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE_BIN=$(command -v node)
OUT=dist/release/sfleet
while [ $# -gt 0 ]; do
  case "$1" in
    --node) NODE_BIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# One CommonJS file: SEA runs a single script and cannot load ESM or node_modules. bundle.ts
# also builds in the files dependencies read at run time; it runs compiled to CommonJS, finding
# esbuild and the rest through NODE_PATH (Node 20 cannot run TypeScript).
npx esbuild scripts/release/bundle.ts --bundle --platform=node --format=cjs --target=node20 \
  --packages=external --outfile="$WORK/bundle.cjs" --log-level=warning
NODE_PATH="$PWD/node_modules" node "$WORK/bundle.cjs" "$WORK/sfleet.cjs"

# The dashboard's files (web/, the built app's web/dashboard/assets/ included) ride along as
# assets named by their path: the hub serves them with node:sea getAsset.
[ -f web/dashboard/index.html ] || npm run build:dashboard --silent
ASSETS=$(find web -type f | sort | while read -r f; do printf '"%s": "%s",' "$f" "$PWD/$f"; done)
cat >"$WORK/sea-config.json" <<JSON
{ "main": "$WORK/sfleet.cjs", "output": "$WORK/sea-prep.blob", "disableExperimentalSEAWarning": true,
  "assets": { ${ASSETS%,} } }
JSON
"$NODE_BIN" --experimental-sea-config "$WORK/sea-config.json"

mkdir -p "$(dirname "$OUT")"
cp "$NODE_BIN" "$OUT"
chmod u+w "$OUT"
# postject warns about ELF note sections it does not touch; show its output only on failure.
npx postject "$OUT" NODE_SEA_BLOB "$WORK/sea-prep.blob" \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 >"$WORK/postject.log" 2>&1 \
  || { cat "$WORK/postject.log" >&2; exit 1; }
echo "built $OUT ($(du -h "$OUT" | cut -f1), $("$OUT" --version))"
