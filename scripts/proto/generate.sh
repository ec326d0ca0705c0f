#!/usr/bin/env bash
# Regenerates generated/ from proto/ with protoc (Debian: protobuf-compiler) and ts-proto.
# The output is committed so a fresh clone builds with Node and npm alone; never edit it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v protoc >/dev/null; then
  # Debian: install the compiler (needs root); elsewhere say what is missing.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q protobuf-compiler >/dev/null
  else
    echo "protoc missing: apt-get install protobuf-compiler" >&2
    exit 1
  fi
fi
rm -rf generated && mkdir -p generated
protoc \
  --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out=generated \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,snakeToCamel=false,importSuffix=.js,forceLong=number,env=node,oneof=unions-value,useOptionals=none,exportCommonSymbols=false \
  -I proto proto/fleet/v1/*.proto
echo "generated/ updated"
