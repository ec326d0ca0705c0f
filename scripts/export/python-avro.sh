#!/usr/bin/env bash
# Installs Debian's python3-avro (the independent Avro reader of the export tests) when missing,
# then reads an Avro object container file against a reader schema and prints one JSON object
# per record (times as ISO-8601):
#
#   scripts/export/python-avro.sh FILE.avro SCHEMA.avsc
set -euo pipefail
log() { printf '[python-avro] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../lib/apt-install.sh"
[ $# = 2 ] || die "usage: $0 FILE.avro SCHEMA.avsc"
# Debian's interpreter: a python3 earlier in PATH (pyenv, a venv) does not see Debian's packages.
PY=/usr/bin/python3
if ! $PY -c 'import avro' 2>/dev/null; then
  [ "$(id -u)" = 0 ] || die "python3-avro is missing and installing it needs root"
  apt_install_missing python3-avro
fi
exec $PY - "$1" "$2" <<'PY'
import json, sys
import avro.schema
from avro.datafile import DataFileReader
from avro.io import DatumReader

with open(sys.argv[2]) as f:
    schema = avro.schema.parse(f.read())
with open(sys.argv[1], 'rb') as f:
    reader = DataFileReader(f, DatumReader(readers_schema=schema))
    for record in reader:
        print(json.dumps(record, default=lambda v: v.isoformat()))
    reader.close()
PY
