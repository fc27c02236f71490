#!/usr/bin/env bash
# The therapist dashboard in a real browser: seeds the demo (a therapist and four clients) into a
# fresh SQLite file and then into a fresh PostgreSQL database, serves each with the given binary,
# and drives /desk in Debian's Chromium through playwright-core (node --test), with axe-core for
# accessibility. Screenshots of every page go to target/browser-screens/<db>/. Exits non-zero
# when any test fails on either database, and says which.
#
# Environment:
#   AFTERCARE_BIN      the server binary (default: target/release/aftercare)
#   DATABASE_ADMIN_URL PostgreSQL to create the throwaway database on
#                      (default: postgres://postgres@127.0.0.1:5432/postgres)
#   BROWSER_DATABASES  which databases to run on (default: "sqlite postgres")
#   BROWSER_PORTS      the port range to take the server's and a second origin's ports from
#                      (default: 61100-61199)
#   CHROMIUM           the browser (default: /usr/bin/chromium)
#   BROWSER_TESTS      the test files, run one after the other against the same server
#                      (default: tests/a11y.test.js tests/desk.test.js; each passes in either order)
set -euo pipefail

browser_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$browser_dir/../.." && pwd)"
cd "$root"

bin="${AFTERCARE_BIN:-target/release/aftercare}"
admin_url="${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
databases="${BROWSER_DATABASES:-sqlite postgres}"
ports="${BROWSER_PORTS:-61100-61199}"
tests="${BROWSER_TESTS:-tests/a11y.test.js tests/desk.test.js}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
started=$(date +%s)

# --- the browser and the test dependencies
if [[ ! -x "$CHROMIUM" ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && apt-get install -y -qq chromium
    else
        echo "browser: no Chromium at $CHROMIUM (apt-get install chromium as root)" >&2
        exit 1
    fi
fi
"$CHROMIUM" --version 2>/dev/null || true
(cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)

[[ -x "$bin" ]] || { echo "browser: no binary at $bin (cargo build --release, or set AFTERCARE_BIN)" >&2; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

# free_port [EXCEPT]: a port of the range nothing listens on.
free_port() {
    python3 - "$ports" "${1:-0}" <<'EOF'
import random, socket, sys
low, high = map(int, sys.argv[1].split("-"))
candidates = [p for p in range(low, high + 1) if p != int(sys.argv[2])]
random.shuffle(candidates)
for port in candidates:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        sys.exit(0)
sys.exit("no free port in " + sys.argv[1])
EOF
}

server_pid=""
pg_database=""
work=""

stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
    if [[ -n "$pg_database" ]]; then
        psql "$admin_url" -q -c "DROP DATABASE IF EXISTS \"$pg_database\" WITH (FORCE)" >/dev/null 2>&1 || true
        pg_database=""
    fi
    if [[ -n "$work" ]]; then
        rm -rf "$work"
        work=""
    fi
}
trap stop_server EXIT

# run_on DB: seeds, serves and tests on one database; returns the tests' status.
run_on() {
    local db=$1 database_url port other_port base_url status=0
    work="$(mktemp -d -t aftercare-browser.XXXXXX)"
    case "$db" in
        sqlite)
            database_url="sqlite://$work/aftercare.db"
            ;;
        postgres)
            pg_database="aftercare_browser_$(date +%s)_$$"
            psql "$admin_url" -q -c "CREATE DATABASE \"$pg_database\"" >/dev/null || return 1
            database_url="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin_url" "$pg_database")"
            ;;
        *)
            echo "browser: unknown database $db (sqlite or postgres)" >&2
            return 1
            ;;
    esac
    port="$(free_port)"
    other_port="$(free_port "$port")"
    base_url="http://127.0.0.1:$port"

    # Cheap password hashing for the seeded accounts and the sign-ins; no Redis (one instance).
    local -a settings=(
        DATABASE_URL="$database_url"
        REDIS_URL=
        AFTERCARE__SERVER__BIND="127.0.0.1:$port"
        AFTERCARE__AUTH__ARGON2_MEMORY_KIB=4096
        AFTERCARE__AUTH__ARGON2_ITERATIONS=1
        AFTERCARE__PUSH__VAPID_PRIVATE_KEY_FILE="$work/vapid_private_key"
        AFTERCARE__LOG__LEVEL=warn
    )
    echo "browser[$db]: seeding the demo"
    env "${settings[@]}" "$bin" demo --seed-only > "$work/seed.log" 2>&1 || {
        cat "$work/seed.log" >&2
        return 1
    }
    grep -E '^\s+(therapist|patient) ' "$work/seed.log" || true

    echo "browser[$db]: serving on $base_url"
    env "${settings[@]}" "$bin" serve > "$work/server.log" 2>&1 &
    server_pid=$!
    local ready=""
    for _ in $(seq 1 300); do
        if curl -fsS "$base_url/readyz" >/dev/null 2>&1; then ready=yes; break; fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z "$ready" ]]; then
        echo "browser[$db]: the server did not become ready" >&2
        tail -n 40 "$work/server.log" >&2
        return 1
    fi

    local screens="$root/target/browser-screens/$db"
    rm -rf "$screens"
    mkdir -p "$screens"
    (
        cd "$browser_dir"
        export AFTERCARE_URL="$base_url" AFTERCARE_OTHER_ORIGIN_PORT="$other_port" \
            AFTERCARE_SCREENS="$screens" AFTERCARE_DB="$db"
        # shellcheck disable=SC2086 # a list of files
        node --test --test-concurrency=1 --test-reporter=spec $tests
    ) || status=$?

    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "browser[$db]: the server died during the run" >&2
        status=1
    elif grep -q "panicked" "$work/server.log"; then
        echo "browser[$db]: the server panicked during the run" >&2
        grep -m 5 "panicked" "$work/server.log" >&2
        status=1
    fi
    if [[ $status -ne 0 ]]; then
        echo "--- last lines of the server log ($db)"
        tail -n 40 "$work/server.log"
    fi
    stop_server
    return $status
}

failed=()
for db in $databases; do
    db_started=$(date +%s)
    if run_on "$db"; then
        echo "browser[$db]: passed in $(( $(date +%s) - db_started )) s"
    else
        echo "browser[$db]: FAILED in $(( $(date +%s) - db_started )) s" >&2
        failed+=("$db")
    fi
done

echo "browser: finished in $(( $(date +%s) - started )) s; screenshots in target/browser-screens/"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "browser: FAILED on ${failed[*]}" >&2
    exit 1
fi
echo "browser: passed on $databases"
