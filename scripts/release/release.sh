#!/usr/bin/env bash
# A release: both single binaries, the SBOM, the license check and third-party notices, and
# the installers and systemd units, and SHA256SUMS over all of it (scripts/install.sh checks the
# binary against it).
#
#   npm run release [-- --arch x64] [-- --no-image]   # default: x64 and arm64, and the image
#
# Writes dist/release/: sfleet-linux-x64, sfleet-linux-arm64, sfleet-image-linux-x64.oci.tar (the
# FROM-scratch image of scripts/release/build-image.sh, as an OCI archive), sbom.cdx.json
# (CycloneDX, runtime dependencies only), THIRD_PARTY_NOTICES.txt, install.sh, install-agent.sh,
# install-hub.sh, sfleet-agent.service, sfleet-hub.service, SHA256SUMS.
#
# Vulnerability audit: the registry's advisory endpoint cannot be reached from this build
# machine. Where it can, run `npm audit --omit=dev` on the release commit, or feed sbom.cdx.json
# to a scanner that reads CycloneDX (e.g. OSV-Scanner, Grype, Dependency-Track).
set -euo pipefail
cd "$(dirname "$0")/../.."

ARCHES="x64 arm64"
IMAGE=true
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCHES=$2; shift 2 ;;
    --no-image) IMAGE=false; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
OUT=dist/release
mkdir -p "$OUT"
rm -f "$OUT/SHA256SUMS"

npm run build --silent
node dist/scripts/release/licenses.js --notices "$OUT/THIRD_PARTY_NOTICES.txt"
# npm names the SBOM's application after the folder it runs in: name it after the package.
npm sbom --omit dev --sbom-format cyclonedx --sbom-type application \
  | node -e 'let s="";process.stdin.on("data",(c)=>s+=c).on("end",()=>{const b=JSON.parse(s);const p=require("./package.json");b.metadata.component.name=p.name;b.metadata.component.version=p.version;process.stdout.write(JSON.stringify(b,null,2)+"\n")})' \
  >"$OUT/sbom.cdx.json"
for arch in $ARCHES; do
  bash scripts/release/build-binary.sh --arch "$arch" --out "$OUT/sfleet-linux-$arch"
done
rm -f "$OUT/sfleet-image-linux-x64.oci.tar"
if $IMAGE && [ -x "$OUT/sfleet-linux-x64" ]; then
  bash scripts/release/build-image.sh --binary "$OUT/sfleet-linux-x64" --archive "$OUT/sfleet-image-linux-x64.oci.tar"
fi
# What install.sh needs beside the binary on the target machine (it finds the unit beside itself).
install -m 0755 scripts/install.sh scripts/install-agent.sh scripts/install-hub.sh "$OUT/"
install -m 0644 deploy/systemd/sfleet-agent.service deploy/systemd/sfleet-hub.service "$OUT/"
(cd "$OUT" && shopt -s nullglob && sha256sum -- sfleet-linux-* sfleet-image-* sbom.cdx.json THIRD_PARTY_NOTICES.txt install*.sh sfleet-*.service >SHA256SUMS)
echo "release in $OUT:"
cat "$OUT/SHA256SUMS"
