# shellcheck shell=bash
# Sourced by contract/run.sh and contract/generators.sh: the release binary, started on a free
# port with a fresh PostgreSQL database and a Redis key prefix of its own, and stopped again with
# its database dropped.
#
# Environment:
#   AFTERCARE_BIN      the server binary (default: target/release/aftercare, built when missing)
#   DATABASE_ADMIN_URL PostgreSQL to create the throwaway database on
#                      (default: postgres://postgres@127.0.0.1:5432/postgres)
#   REDIS_URL          Redis to use (default: redis://127.0.0.1:6379)

admin_url="${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
redis_url="${REDIS_URL:-redis://127.0.0.1:6379}"
server_pid=""
server_database=""
server_log=""

# server_binary WHO: sets AFTERCARE_BIN, building the release binary when it is neither given nor
# built yet.
server_binary() {
    if [[ -z "${AFTERCARE_BIN:-}" ]]; then
        local target_dir
        target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
        AFTERCARE_BIN="$target_dir/release/aftercare"
        [[ -x "$AFTERCARE_BIN" ]] || cargo build --release --locked
    fi
    [[ -x "$AFTERCARE_BIN" ]] || { echo "$1: no binary at $AFTERCARE_BIN" >&2; exit 1; }
}

# server_start WHO DIR PORT [VAR=value ...]: creates the database aftercare_WHO_<run>, starts the
# binary on PORT (a free one when empty) with cheap password hashing, quiet logs and the extra
# settings given, its log in DIR/server.log, and waits until it is ready. Sets base_url.
server_start() {
    local who=$1 dir=$2 port=$3
    shift 3
    local run_id database_url
    run_id="$(date +%s)_$$"
    server_database="aftercare_${who}_${run_id}"
    [[ -n "$port" ]] || port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    base_url="http://127.0.0.1:$port"
    server_log="$dir/server.log"
    psql "$admin_url" -q -c "CREATE DATABASE \"$server_database\"" >/dev/null
    database_url="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin_url" "$server_database")"
    echo "$who: starting $AFTERCARE_BIN on $base_url (database $server_database)"
    env \
        DATABASE_URL="$database_url" \
        REDIS_URL="$redis_url" \
        AFTERCARE__SERVER__BIND="127.0.0.1:$port" \
        AFTERCARE__REDIS__KEY_PREFIX="aftercare-$who:$run_id:" \
        AFTERCARE__AUTH__ARGON2_MEMORY_KIB=4096 \
        AFTERCARE__AUTH__ARGON2_ITERATIONS=1 \
        AFTERCARE__PUSH__VAPID_PRIVATE_KEY_FILE="$dir/vapid_private_key" \
        AFTERCARE__LOG__LEVEL=warn \
        "$@" \
        "$AFTERCARE_BIN" serve > "$server_log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -fsS "$base_url/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$server_pid" 2>/dev/null || { echo "$who: the server exited" >&2; exit 1; }
        sleep 0.1
    done
    curl -fsS "$base_url/readyz" >/dev/null
}

# server_stop STATUS: stops the server (SIGTERM, then waits), drops its database, and after a
# failure (STATUS not 0) prints the last lines of its log.
server_stop() {
    local status=$1
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -n "$server_database" ]]; then
        psql "$admin_url" -q -c "DROP DATABASE IF EXISTS \"$server_database\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [[ $status -ne 0 && -n "$server_log" && -f "$server_log" ]]; then
        echo "--- last lines of the server log ($server_log)"
        tail -n 40 "$server_log"
    fi
}

# server_survived WHO: fails when the server died or panicked.
server_survived() {
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "$1: the server died during the run" >&2
        return 1
    elif grep -q "panicked" "$server_log"; then
        echo "$1: the server panicked during the run" >&2
        grep -m 5 "panicked" "$server_log" >&2
        return 1
    fi
}
