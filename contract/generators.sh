#!/usr/bin/env bash
# The API document in the client generators a phone developer uses. Validates openapi/openapi.yaml
# with openapi-generator, generates Kotlin, Swift 5, Swift 6, Dart and TypeScript clients with it
# and a Python client with openapi-python-client, and fails on any error or spec warning. Then
# drives the generated Python client through a real flow against the release binary
# (contract/python_flow.py).
#
# Installs what it needs itself: Java 17 from apt when no Java 11+ is there, and the pinned
# generators (contract/generators-requirements.txt) in a virtualenv of their own. Both
# generators run offline: the PyPI package of openapi-generator carries its jar.
#
# What counts as a spec warning: every WARN or ERROR line openapi-generator prints, and
# openapi-python-client's "Warning(s) encountered", except the lines in ALLOWED below, which are
# about the generator or its naming, not about the document.
#
# Environment:
#   AFTERCARE_BIN   the server binary (default: target/release/aftercare, built when missing)
#   GENERATORS_OUT  where the clients are written (default: a scratch directory, removed after)
#   GENERATORS_VENV where the generators are installed (default: contract/.generators-venv)
#   DATABASE_ADMIN_URL, REDIS_URL  as for contract/run.sh (see contract/server.sh)
set -euo pipefail

contract_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$contract_dir/.." && pwd)"
cd "$root"
spec="$root/openapi/openapi.yaml"
venv="${GENERATORS_VENV:-$contract_dir/.generators-venv}"
started=$(date +%s)

# Lines that are not about the document: the deprecation notice of the swift5 generator, and
# Swift's renaming of the inline enum of a property called `type` (a reserved word there).
ALLOWED='Generator .swift5. is considered deprecated|This generator has been deprecated|Type \(reserved word\) cannot be used as model name\. Renamed to ModelType'

# --- Java 11+ (openapi-generator's jar)
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if ! command -v java >/dev/null || [[ "$(java_major)" -lt 11 ]]; then
    echo "generators: installing Java 17"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
fi
java -version 2>&1 | head -1

# --- the generators, pinned, in a virtualenv of their own
requirements="$contract_dir/generators-requirements.txt"
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/openapi-python-client" || "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
    echo "generators: installing into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
echo "openapi-generator $(openapi-generator-cli version), $(openapi-python-client --version)"

out="${GENERATORS_OUT:-}"
if [[ -z "$out" ]]; then
    out="$(mktemp -d -t aftercare-generators.XXXXXX)"
    trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
failed=0

# Prints the lines of a log that count as warnings; fails the run when there are any.
# openapi-generator marks them with its log level; openapi-python-client prints its own.
check_log() {
    local name=$1 log=$2 pattern warnings
    if [[ $name == python ]]; then
        pattern='[Ww]arning|[Ee]rror|Unable to|Cannot|Traceback'
    else
        pattern='^\[[^]]*\] (WARN|ERROR) |Exception'
    fi
    warnings="$(grep -E "$pattern" "$log" | grep -Ev "$ALLOWED" || true)"
    if [[ -n "$warnings" ]]; then
        echo "generators: $name reported warnings about the document:" >&2
        echo "$warnings" | sed 's/^/    /' >&2
        failed=1
    fi
}

# --- validation
openapi-generator-cli validate --recommend -i "$spec" > "$out/validate.log" 2>&1 || failed=1
cat "$out/validate.log"
grep -q "No validation issues detected" "$out/validate.log" || failed=1

# --- the openapi-generator clients, with the options that give sum types for `oneOf` and a
# fallback case for an enum value an old app does not know. Two at a time (CI has two cores).
generate() {
    local generator=$1 options=$2
    if ! openapi-generator-cli generate -g "$generator" -i "$spec" -o "$out/$generator" \
        --additional-properties="$options" > "$out/$generator.log" 2>&1; then
        echo "generators: $generator failed" >&2
        tail -n 20 "$out/$generator.log" >&2
        return 1
    fi
}
kotlin_options="library=jvm-retrofit2,serializationLibrary=kotlinx_serialization,generateOneOfAnyOfWrappers=true,enumUnknownDefaultCase=true,packageName=org.aftercare.client"
swift_options="enumUnknownDefaultCase=true,projectName=AftercareClient"
dart_options="enumUnknownDefaultCase=true,pubName=aftercare_client"
typescript_options="enumUnknownDefaultCase=true,supportsES6=true"
(generate kotlin "$kotlin_options" & generate swift5 "$swift_options" & wait) || failed=1
(generate swift6 "$swift_options" & generate dart-dio "$dart_options" & wait) || failed=1
(generate typescript-fetch "$typescript_options" & \
    openapi-python-client generate --path "$spec" --output-path "$out/python/aftercare_client" --meta none --overwrite \
        > "$out/python.log" 2>&1 & wait) || failed=1
for generator in kotlin swift5 swift6 dart-dio typescript-fetch python; do
    check_log "$generator" "$out/$generator.log"
done
[[ -d "$out/python/aftercare_client" ]] || { echo "generators: no Python client" >&2; exit 1; }
echo "generators: generated in $(( $(date +%s) - started )) s"
[[ $failed -eq 0 ]] || { echo "generators: FAILED" >&2; exit 1; }

# --- the Python client through a real flow against the release binary
# shellcheck source=contract/server.sh
source "$contract_dir/server.sh"
server_binary generators
cleanup() {
    local status=$?
    server_stop $status
    [[ -n "${GENERATORS_OUT:-}" ]] || rm -rf "$out"
    exit $status
}
trap cleanup EXIT
server_start generators "$out" "${GENERATORS_PORT:-}"
PYTHONPATH="$out/python" "$venv/bin/python" "$contract_dir/python_flow.py" "$base_url"
echo "generators: finished in $(( $(date +%s) - started )) s"
