#!/usr/bin/env bash
# The API contract run: starts the release binary on a free port with a fresh PostgreSQL database
# and its own Redis key prefix, seeds two patients and two therapists through the public API,
# runs schemathesis (every phase, every check) against it, stops the server, and exits non-zero
# on any failure.
#
# Environment:
#   AFTERCARE_BIN      the server binary (default: target/release/aftercare, built when missing)
#   DATABASE_ADMIN_URL PostgreSQL to create the throwaway database on
#                      (default: postgres://postgres@127.0.0.1:5432/postgres)
#   REDIS_URL          Redis to use (default: redis://127.0.0.1:6379)
#   CONTRACT_VENV      where schemathesis is installed (default: contract/.venv)
set -euo pipefail

contract_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$contract_dir/.." && pwd)"
cd "$root"

venv="${CONTRACT_VENV:-$contract_dir/.venv}"
started=$(date +%s)

# --- schemathesis, pinned, in a virtualenv of its own
requirements="$contract_dir/requirements.txt"
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/schemathesis" || "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
    echo "contract: installing schemathesis into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes -r "$requirements"
    echo "$wanted" > "$stamp"
fi
"$venv/bin/schemathesis" --version

# --- the server: release build, PostgreSQL and Redis, limits raised so fuzzing is not throttled
# shellcheck source=contract/server.sh
source "$contract_dir/server.sh"
server_binary contract
work="$(mktemp -d -t aftercare-contract.XXXXXX)"
cleanup() {
    local status=$?
    server_stop $status
    echo "contract: finished in $(( $(date +%s) - started )) s with status $status"
    exit $status
}
trap cleanup EXIT
server_start contract "$work" "" \
    AFTERCARE__RATE_LIMIT__LOGIN_FAILURES_PER_ACCOUNT=1000000 \
    AFTERCARE__RATE_LIMIT__LOGIN_FAILURES_PER_ADDRESS=1000000 \
    AFTERCARE__RATE_LIMIT__REGISTRATIONS_PER_ADDRESS=1000000

# --- two patients and two therapists, through the public API
python3 "$contract_dir/seed.py" "$base_url" "$work/auth.json"

# --- schemathesis
export AFTERCARE_CONTRACT_URL="$base_url"
export AFTERCARE_CONTRACT_DIR="$contract_dir"
export AFTERCARE_CONTRACT_AUTH="$work/auth.json"
export AFTERCARE_CONTRACT_REPORTS="$work/reports"
export AFTERCARE_CONTRACT_FILTERED="$work/beyond-the-schema.tsv"
fuzz_started=$(date +%s)
status=0
# From the scratch directory, where schemathesis and hypothesis keep their caches.
(cd "$work" && "$venv/bin/schemathesis" --config-file "$contract_dir/schemathesis.toml" --no-color \
    run "$base_url/openapi.json") || status=$?
echo "contract: schemathesis took $(( $(date +%s) - fuzz_started )) s"
if [[ -s "$AFTERCARE_CONTRACT_FILTERED" ]]; then
    echo "contract: schema-valid requests refused for rules JSON Schema cannot state (operation, field, rule):"
    sort "$AFTERCARE_CONTRACT_FILTERED" | uniq -c | sort -rn | sed 's/^/    /'
fi

# The server must have survived the run.
server_survived contract || status=1
exit $status
