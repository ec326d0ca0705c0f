#!/usr/bin/env bash
# `npm test`: everything a fresh Debian 12 machine with Node and npm needs to run the whole
# suite. Installs npm dependencies if missing, builds, lints, runs the unit tests, installs
# and starts the real services on loopback (Slurm 22.05 with slurmdbd and slurmrestd; etcd
# and Redis for clustered hubs), runs
# the integration tests against them, checks the adapters against ../shared/slurm/recorded
# when it is there, runs the quick benchmarks, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Each step says when it started (seconds since the start): the suite must stay under an hour.
STARTED=$SECONDS
step() { printf '\n=== %s (at %ds)\n' "$*" $((SECONDS - STARTED)); }
# Each vitest run also writes a JSON report; the last line of npm test adds them up.
REPORTS=$(mktemp -d)
vitest_run() { local name=$1; shift; npx vitest run --reporter=default --reporter=json --outputFile.json="$REPORTS/$name.json" "$@"; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

step "build"
npm run build --silent

step "lint"
npx eslint .
# The build leaves tests out; this typechecks them too (a renamed import in an integration test
# would otherwise show only when that test runs).
npx tsc -p tsconfig.test.json

step "unit tests"
vitest_run unit --project unit

# Coverage-guided fuzzing (Jazzer.js) of the parsers bad input reaches: each target 60 s from its
# committed corpus (scripts/fuzz/corpus/); a crash, a hang or a fast/slow decoder disagreement
# fails the run and leaves the input under the work directory it prints.
step "fuzzing, 60 s per target (npm run fuzz)"
# Jazzer.js's prebuilt addon needs a small glibc-compat library built with a C++ compiler
# (scripts/fuzz/addon-compat.ts); a fresh machine may have none.
if ! command -v c++ >/dev/null; then
  log() { echo "[fuzz] $*" >&2; }
  die() { log "$*"; exit 1; }
  [ "$(id -u)" = 0 ] || die "the fuzzers need a C++ compiler: apt-get install g++ (or run as root to have it installed)"
  . scripts/lib/apt-install.sh
  apt_install_missing g++
fi
node dist/scripts/fuzz/main.js --seconds 60 --seed 1 --work "$(mktemp -d)" >/dev/null

# The single binary embeds another Node.js than the one running npm (scripts/release/node-version,
# the Active LTS): the unit tests run on it too, so the runtime users get is the one tested.
EMBEDDED_NODE_VERSION=$(cat scripts/release/node-version)
step "unit tests on Node.js $EMBEDDED_NODE_VERSION, the one the binary embeds"
EMBEDDED_NODE=$(bash scripts/release/fetch-node.sh "$EMBEDDED_NODE_VERSION" x64)
PATH="$(dirname "$EMBEDDED_NODE"):$PATH" "$EMBEDDED_NODE" node_modules/vitest/vitest.mjs run --reporter=default --reporter=json \
  --outputFile.json="$REPORTS/unit-node-$EMBEDDED_NODE_VERSION.json" --project unit

step "local Slurm 22.05 (scripts/slurm/start.sh)"
[ "$(id -u)" = 0 ] || { echo "the integration tests start a local Slurm and need root" >&2; exit 1; }
# One user of the local Slurm at a time (a benchmark run in another shell waits for us).
exec 9>/tmp/sfleet-slurm.lock
flock 9
cleanup() {
  bash scripts/slurm/stop.sh >/dev/null 2>&1 || true
  bash scripts/services/stop.sh --purge >/dev/null 2>&1 || true
}
trap cleanup EXIT
bash scripts/slurm/start.sh >/dev/null

# Clustered hubs: installs etcd-server and redis-server when missing and checks that a
# 3-member etcd and a Redis come up on loopback. The HA tests (test/ha-*.test.ts) start
# private instances of their own on free ports with the same script, since they kill them.
step "etcd 3.4 (3 members) and Redis 7 (scripts/services/start.sh)"
bash scripts/services/start.sh >/dev/null

# Every hub, agent and CLI process of the integration tests and the chaos scenarios logs into
# this run directory, and the tests register every secret they create there
# (scripts/test/run-dir.ts); the secrets scan after chaos reads both.
export SFLEET_TEST_LOG_DIR="${SFLEET_TEST_LOG_DIR:-/tmp/sfleet-test-logs/$(date -u +%Y%m%dT%H%M%SZ)-$$}"

# Observability: promtool, Prometheus and the Pushgateway from Debian (test/observability.test.ts).
step "Prometheus and Pushgateway (scripts/prometheus/install.sh)"
bash scripts/prometheus/install.sh >/dev/null

# Storage-fault tests (test/storage-faults.test.ts, test/hub-durable-files.test.ts) mount
# scripts/faultfs, a FUSE filesystem in C built at test time: it needs fuse3 (fusermount3),
# libfuse3-dev and a C compiler.
step "faultfs build dependencies (fuse3, libfuse3-dev, gcc)"
(
  log() { echo "[faultfs] $*" >&2; }
  die() { log "$*"; exit 1; }
  . scripts/lib/apt-install.sh
  apt_install_missing fuse3 libfuse3-dev gcc pkg-config
)

step "integration tests"
vitest_run integration --project integration

# Let go of the local-Slurm lock: the benchmark takes it itself (the daemons started above
# inherited fd 9, so only an explicit unlock frees it).
flock -u 9

# Namespace mode (CI runs as root: every hub, etcd member, Redis and agent in its own network
# namespace, nftables faults): the kill -9 scenarios, the network faults and the region cut.
# It falls back to loopback only where `ip netns add` is refused, and each summary line says
# which mode ran.
step "chaos scenarios (npm run chaos)"
node dist/scripts/chaos/main.js

# A 5-minute soak of the chaos fleet under churn with hub and agent restarts: RSS and heap of the
# long-lived hubs and agent within 10%, descriptors within +/-5 of their warm-up values.
step "soak, 5 minutes (npm run soak -- --minutes 5)"
node dist/scripts/soak/main.js --minutes 5 --report "$SFLEET_TEST_LOG_DIR/soak.json" >/dev/null

# Fails the run when a registered secret or a secret-shaped string (token, private key, bearer
# JWT) is in any log or audit file of the integration tests and chaos.
step "secrets in logs and audit records ($SFLEET_TEST_LOG_DIR)"
node dist/scripts/test/scan-secrets.js "$SFLEET_TEST_LOG_DIR"

# Measurements, not assertions: a missed target is reported in the table, only a crash fails.
step "benchmarks, quick mode (npm run bench -- --quick)"
node dist/scripts/bench/main.js --quick

# Third-party data (real slurmrestd responses, OpenAPI specs) is read from ../shared, never
# copied into the repository; without it these two checks say so and are not run.
step "adapters against recorded slurmrestd responses"
node dist/scripts/check-recorded/main.js

step "simulator against the real OpenAPI specs and recordings"
if [ -d ../shared/slurm/openapi ]; then
  vitest_run shared-data --project shared-data sim/
else
  echo "not run: ../shared/slurm/openapi is not beside the repository"
fi

# Every configuration block of the feature brief loads into hub or agent and acts, or is
# refused with where it lives instead (hub/config/brief.shared-test.ts).
step "the feature brief's configuration blocks"
if [ -f ../shared/brief/enterprise-features.md ]; then
  vitest_run shared-brief --project shared-data hub/config/
else
  echo "not run: ../shared/brief is not beside the repository"
fi

# s9s's own example configuration migrates (cli/migrate/s9s-example.shared-test.ts).
step "sfleet config migrate against s9s's example configuration"
if [ -f ../shared/slurm/s9s-config.example.yaml ]; then
  vitest_run shared-s9s --project shared-data cli/migrate/
else
  echo "not run: ../shared/slurm/s9s-config.example.yaml is not beside the repository"
fi

step "summary"
node -e '
const fs = require("fs"), path = require("path");
let passed = 0, failed = 0;
for (const f of fs.readdirSync(process.argv[1]).filter((name) => name.endsWith(".json"))) {
  const r = JSON.parse(fs.readFileSync(path.join(process.argv[1], f), "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests;
}
console.log(`${passed} passed, ${failed} failed`);
' "$REPORTS"
