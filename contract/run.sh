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

admin_url="${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
redis_url="${REDIS_URL:-redis://127.0.0.1:6379}"
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

# --- the release binary
if [[ -z "${AFTERCARE_BIN:-}" ]]; then
    target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    AFTERCARE_BIN="$target_dir/release/aftercare"
    if [[ ! -x "$AFTERCARE_BIN" ]]; then
        cargo build --release --locked
    fi
fi
[[ -x "$AFTERCARE_BIN" ]] || { echo "contract: no binary at $AFTERCARE_BIN" >&2; exit 1; }

# --- a fresh database, a free port, a scratch directory
run_id="$(date +%s)_$$"
database="aftercare_contract_${run_id}"
work="$(mktemp -d -t aftercare-contract.XXXXXX)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base_url="http://127.0.0.1:$port"
server_pid=""

cleanup() {
    local status=$?
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    psql "$admin_url" -q -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
    if [[ $status -ne 0 && -f "$work/server.log" ]]; then
        echo "--- last lines of the server log ($work/server.log)"
        tail -n 40 "$work/server.log"
    fi
    echo "contract: finished in $(( $(date +%s) - started )) s with status $status"
    exit $status
}
trap cleanup EXIT

psql "$admin_url" -q -c "CREATE DATABASE \"$database\"" >/dev/null
database_url="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin_url" "$database")"

# --- the server: release build, PostgreSQL and Redis, limits raised so fuzzing is not throttled
echo "contract: starting $AFTERCARE_BIN on $base_url (database $database)"
env \
    DATABASE_URL="$database_url" \
    REDIS_URL="$redis_url" \
    AFTERCARE__SERVER__BIND="127.0.0.1:$port" \
    AFTERCARE__REDIS__KEY_PREFIX="aftercare-contract:$run_id:" \
    AFTERCARE__RATE_LIMIT__LOGIN_FAILURES_PER_ACCOUNT=1000000 \
    AFTERCARE__RATE_LIMIT__LOGIN_FAILURES_PER_ADDRESS=1000000 \
    AFTERCARE__RATE_LIMIT__REGISTRATIONS_PER_ADDRESS=1000000 \
    AFTERCARE__AUTH__ARGON2_MEMORY_KIB=4096 \
    AFTERCARE__AUTH__ARGON2_ITERATIONS=1 \
    AFTERCARE__PUSH__VAPID_PRIVATE_KEY_FILE="$work/vapid_private_key" \
    AFTERCARE__LOG__LEVEL=warn \
    "$AFTERCARE_BIN" serve > "$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 100); do
    curl -fsS "$base_url/readyz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "contract: the server exited" >&2; exit 1; }
    sleep 0.1
done
curl -fsS "$base_url/readyz" >/dev/null

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
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "contract: the server died during the run" >&2
    status=1
elif grep -q "panicked" "$work/server.log"; then
    echo "contract: the server panicked during the run" >&2
    grep -m 5 "panicked" "$work/server.log" >&2
    status=1
fi
exit $status
